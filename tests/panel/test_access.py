"""Every panel page needs a staff sign-in; every change is a POST with a CSRF token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from shopmail.api import keys
from shopmail.mail.models import Message, TemplateVersion
from shopmail.mail.webhooks.models import Endpoint
from shopmail.store.models import Customer, Order, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def things(placed, staff_user, clerk):
    """One of everything a page can be about."""
    message = Message.objects.get(notification="order_confirmed")
    version = TemplateVersion.objects.create(
        notification="order_confirmed",
        language="en",
        subject="S {{ order.number }}",
        text="t",
        html="<p>h</p>",
    )
    key, _ = keys.create("shop")
    return {
        "order": placed.pk,
        "message": message.pk,
        "version": version.pk,
        "run": SyncRun.objects.first().pk,
        "customer": Customer.objects.get().pk,
        "key": key.pk,
        "user": clerk.pk,
    }


def pages(t):
    """(url name, args) of every page a member of staff can GET."""
    return [
        ("panel:dashboard", []),
        ("panel:settings", []),
        ("panel:notifications", []),
        ("panel:templates", []),
        ("panel:template_edit", ["order_confirmed", "en"]),
        ("panel:template_version", ["order_confirmed", "en", t["version"]]),
        ("panel:orders", []),
        ("panel:order", [t["order"]]),
        ("panel:messages", []),
        ("panel:message", [t["message"]]),
        ("panel:sync", []),
        ("panel:sync_run", [t["run"]]),
        ("panel:customers", []),
        ("panel:customer", [t["customer"]]),
        ("panel:api_keys", []),
        ("panel:staff", []),
        ("panel:password_change", []),
        ("panel:webhooks", []),
        ("panel:dropshippers", []),
    ]


def actions(t):
    """(url name, args, form data) of every state change."""
    return [
        ("panel:settings", [], {"company_name": "Hacked"}),
        ("panel:transport", [], {"kind": "capture"}),
        ("panel:detect", [], {"kind": "capture"}),
        ("panel:send_test", [], {"to": "x@example.com"}),
        ("panel:notifications", [], {}),
        ("panel:template_edit", ["order_confirmed", "en"], {"subject": "x", "text": "x", "html": ""}),
        ("panel:template_preview", ["order_confirmed", "en"], {"subject": "x", "text": "x"}),
        ("panel:template_restore", ["order_confirmed", "en"], {}),
        ("panel:order_notify", [t["order"]], {"notification": "order_shipped"}),
        ("panel:order_action", [t["order"], "cancel"], {"reason": "x", "confirm": "1"}),
        (
            "panel:webhook_add",
            [],
            {"url": "http://127.0.0.1:9/x", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
        ),
        ("panel:dropshipper_create", [], {"name": "Evil", "email": "evil@example.com", "suppliers": "X"}),
        ("panel:message_resend", [t["message"]], {"custom_message": "hi"}),
        ("panel:message_retry", [t["message"]], {}),
        ("panel:message_cancel", [t["message"]], {}),
        ("panel:sync", [], {"action": "apply"}),
        ("panel:customer_invite", [t["customer"]], {}),
        ("panel:api_keys", [], {"name": "evil"}),
        ("panel:api_key_revoke", [t["key"]], {}),
        ("panel:staff", [], {"email": "evil@example.com", "password1": "x", "password2": "x"}),
        ("panel:staff_active", [t["user"]], {"active": "0"}),
        ("panel:password_change", [], {"old_password": "x", "new_password1": "y", "new_password2": "y"}),
        ("panel:logout", [], {}),
    ]


def state():
    """A fingerprint of everything an action could change."""
    from django.contrib.auth import get_user_model

    from shopmail.api.models import ApiKey
    from shopmail.store.models import StoreSettings

    settings = StoreSettings.load()
    return (
        settings.company_name,
        settings.transport,
        settings.notifications,
        settings.rules,
        list(Message.objects.order_by("pk").values_list("pk", "status")),
        TemplateVersion.objects.count(),
        list(ApiKey.objects.values_list("pk", "revoked_at")),
        list(get_user_model().objects.order_by("pk").values_list("pk", "is_active", "password")),
        list(Order.objects.order_by("pk").values_list("pk", "snapshot_hash")),
        Endpoint.objects.count(),
    )


def test_anonymous_is_sent_to_sign_in_for_every_page(client, things):
    for name, args in pages(things):
        url = reverse(name, args=args)
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"] == f"/admin/login/?next={url}", name


def test_anonymous_posts_change_nothing(client, things):
    before = state()
    for name, args, data in actions(things):
        if name == "panel:logout":
            continue
        response = client.post(reverse(name, args=args), data)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), name
    assert state() == before


def test_signed_in_non_staff_is_refused(client, things, customer_user):
    client.force_login(customer_user)
    for name, args in pages(things):
        assert client.get(reverse(name, args=args)).status_code == 403, name
    before = state()
    for name, args, data in actions(things):
        if name == "panel:logout":
            continue
        assert client.post(reverse(name, args=args), data).status_code == 403, name
    assert state() == before


def test_staff_sees_every_page(staff, things):
    for name, args in pages(things):
        response = staff.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert response["Content-Security-Policy"].startswith("default-src 'self'"), name
        assert "no-store" in response["Cache-Control"], name
        assert b'<main id="main"' in response.content, name


def test_staff_management_is_for_administrators_only(client, things, clerk):
    client.force_login(clerk)
    assert client.get(reverse("panel:dashboard")).status_code == 200
    assert client.get(reverse("panel:staff")).status_code == 403
    before = state()
    response = client.post(
        reverse("panel:staff"), {"email": "x@shop.test", "password1": "p" * 12, "password2": "p" * 12}
    )
    assert response.status_code == 403 and state() == before
    assert b"Staff users" not in client.get(reverse("panel:dashboard")).content


def test_every_action_needs_a_csrf_token(things, staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    before = state()
    for name, args, data in actions(things):
        response = client.post(reverse(name, args=args), data)
        assert response.status_code == 403, name
        assert b"CSRF" in response.content, name
    assert state() == before
    # with the token from the page the same form works
    page = client.get(reverse("panel:notifications"))
    token = page.cookies["csrftoken"].value
    response = client.post(reverse("panel:notifications"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_actions_refuse_get(staff, things):
    for name, args, _ in actions(things):
        if name in ("panel:settings", "panel:notifications", "panel:api_keys", "panel:staff", "panel:sync"):
            continue  # these pages show their form on GET
        if name == "panel:password_change" or name == "panel:template_edit":
            continue
        assert staff.get(reverse(name, args=args)).status_code == 405, name


def test_unknown_things_are_404(staff):
    for url in (
        "/admin/orders/999/",
        "/admin/messages/999/",
        "/admin/customers/999/",
        "/admin/sync/runs/999/",
        "/admin/templates/nope/en/",
        "/admin/templates/order_confirmed/xx/",
        "/admin/templates/order_confirmed/en/versions/999/",
    ):
        assert staff.get(url).status_code == 404, url
