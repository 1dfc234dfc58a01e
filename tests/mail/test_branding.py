"""Branding (SPEC 4): the logo heads every e-mail and customer page, the accent colour colours
the header and buttons, the footer text is under every e-mail; set by the API and the panel,
shown by the preview (issue 20)."""

from __future__ import annotations

import pytest
from django.test import Client

from factories import order
from fixtures.customer_kit import make_account, rendered, sign_in
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message
from shopmail.store.models import Customer, StoreSettings

pytestmark = pytest.mark.django_db(transaction=False)

LOGO = "https://cdn.example.com/fjord-fell-logo.png"
FOOTER = "Fjord & Fell AS · Storgata 12, 0155 Oslo\nOrg.nr. 912 345 678 MVA"
BRANDING = {"logo_url": LOGO, "accent_color": "#0a7d5a", "footer_text": FOOTER}


def test_branding_through_the_api(api):
    response = api.patch("/settings", {"branding": BRANDING, "update_digest_minutes": 10})
    assert response.status_code == 200, response.content
    body = api.get("/settings").json()
    assert body["branding"] == BRANDING and body["update_digest_minutes"] == 10
    api.patch("/settings", {"branding": {"footer_text": ""}})
    assert api.get("/settings").json()["branding"] == {**BRANDING, "footer_text": ""}
    for bad in ({"logo_url": "javascript:alert(1)"}, {"accent_color": "red"}, {"logo": "x"}):
        assert api.patch("/settings", {"branding": bad}).status_code == 422, bad
    assert api.patch("/settings", {"update_digest_minutes": -1}).status_code == 422


@pytest.mark.parametrize("language", ["en", "nb", "de"])
def test_every_email_carries_the_branding(store, language):
    store.branding = BRANDING
    store.save()
    data = order("BR-1", status="processing")
    data["customer"]["language"] = language
    assert not ingest(orders=[data]).rejected
    for message in Message.objects.all():  # the customer's confirmation and the staff mail
        mail = rendered(message)
        assert f'src="{LOGO}"' in mail.html, message.notification
        assert "#0a7d5a" in mail.html and "#1f6feb" not in mail.html
        assert "Fjord &amp; Fell AS · Storgata 12, 0155 Oslo<br>Org.nr. 912 345 678 MVA" in mail.html
        assert "Fjord & Fell AS · Storgata 12, 0155 Oslo\nOrg.nr. 912 345 678 MVA" in mail.text


def test_no_branding_no_logo(store):
    assert not ingest(orders=[order("BR-2", status="processing")]).rejected
    mail = rendered(Message.objects.get(notification="order_confirmed"))
    assert '<img class="logo"' not in mail.html and "footer-text" not in mail.html


def test_customer_pages_carry_the_branding(store):
    store.branding = BRANDING
    store.save()
    assert not ingest(orders=[order("BR-3", status="processing")]).rejected
    client = Client()
    make_account(Customer.objects.get(external_id="c-BR-3"))
    sign_in(client, "customerBR-3@example.com")
    page = client.get("/account/").content.decode()
    assert f'src="{LOGO}"' in page and "Org.nr. 912 345 678 MVA" in page and "#0a7d5a" in page
    assert f'src="{LOGO}"' in Client().get("/contact/").content.decode()


def test_the_panel_sets_branding_and_the_preview_shows_it(store, client):
    from django.contrib.auth import get_user_model

    from shopmail.mail import editing

    user = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(user)
    form = client.get("/admin/settings/").content.decode()
    assert (
        'name="logo_url"' in form and 'name="footer_text"' in form and 'name="update_digest_minutes"' in form
    )
    data = {
        "company_name": "Test Shop",
        "company_url": "https://shop.example.com",
        "admin_email": "staff@shop.test",
        "from_name": "Test Shop",
        "from_email": "shop@shop.test",
        "reply_to": "",
        "default_language": "en",
        "brand_color": "#0a7d5a",
        "logo_url": LOGO,
        "footer_text": FOOTER,
        "update_digest_minutes": "5",
        "notify_since": "2020-01-01T00:00",
    }
    response = client.post("/admin/settings/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    settings = StoreSettings.load()
    assert settings.branding == BRANDING and settings.update_digest_minutes == 5
    preview = editing.preview("order_shipped", "nb")
    assert f'src="{LOGO}"' in preview["html"] and "Org.nr. 912 345 678 MVA" in preview["text"]


PNG = (  # a 1x1 PNG
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _staff(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(user)


def _store_form(**extra):
    return {
        "company_name": "Test Shop",
        "company_url": "https://shop.example.com",
        "admin_email": "staff@shop.test",
        "from_name": "Test Shop",
        "from_email": "shop@shop.test",
        "reply_to": "",
        "default_language": "en",
        "brand_color": "#0a7d5a",
        "logo_url": "",
        "footer_text": "",
        "notify_since": "2020-01-01T00:00",
        **extra,
    }


def test_an_uploaded_logo_is_served_and_used(store, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _staff(client)
    upload = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    response = client.post("/admin/settings/", _store_form(logo_file=upload))
    assert response.status_code == 302, response.content.decode()[:2000]
    url = StoreSettings.load().branding["logo_url"]
    assert url.startswith("http") and "/branding/logo/" in url and url.endswith(".png")
    served = Client().get("/branding/logo/" + url.rsplit("/", 1)[1])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served.content == PNG and "immutable" in served["Cache-Control"]
    assert Client().get("/branding/logo/0000.png").status_code == 404
    assert not ingest(orders=[order("BR-9", status="processing")]).rejected
    assert f'src="{url}"' in rendered(Message.objects.get(notification="order_confirmed")).html


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<html>",
        b"\x89PNG" + b"x" * 300_000,
    ],
)
def test_an_upload_that_is_not_a_small_image_is_refused(store, client, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _staff(client)
    response = client.post("/admin/settings/", _store_form(logo_file=SimpleUploadedFile("x.png", content)))
    assert response.status_code == 422
    assert "logo" in response.content.decode().lower()
    assert not (StoreSettings.load().branding or {}).get("logo_url")


def test_customer_pages_allow_the_logos_origin_only(store):
    store.branding = BRANDING
    store.save()
    response = Client().get("/contact/")
    policy = response["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.example.com;" in policy and "script-src" not in policy
