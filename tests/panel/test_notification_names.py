"""Issue 27: the panel names notifications in words, from one source (the registry's titles,
translated by the django gettext catalogs)."""

from __future__ import annotations

import pytest
from django.utils import translation

from shopmail.mail.models import Message, Status
from shopmail.mail.notifications import NOTIFICATIONS
from shopmail.panel.names import notification_name


def test_every_notification_has_a_name_in_each_language():
    for key, spec in NOTIFICATIONS.items():
        assert spec.title and "_" not in spec.title, key
    for language in ("nb", "de"):
        with translation.override(language):
            names = {key: notification_name(key) for key in NOTIFICATIONS}
        untranslated = [key for key, name in names.items() if name == NOTIFICATIONS[key].title]
        # "Newsletter" is the German word too; every other name differs from the English one
        assert untranslated == (["newsletter"] if language == "de" else []), language
        assert len(set(names.values())) == len(names), f"two notifications share a name in {language}"
    with translation.override("nb"):
        assert notification_name("order_confirmed") == "Ordrebekreftelse"
    with translation.override("de"):
        assert notification_name("order_confirmed") == "Bestellbestätigung"
    assert notification_name("order_confirmed") == "Order confirmation"
    assert notification_name("no_such_thing") == "no_such_thing"


def test_pages_name_notifications_in_words(staff, placed):
    message = Message.objects.get(notification="order_confirmed")
    Message.objects.filter(notification="admin_order_placed").update(
        status=Status.FAILED, last_error="550 no"
    )
    pages = {
        "templates": staff.get("/admin/templates/").content.decode(),
        "notifications": staff.get("/admin/notifications/").content.decode(),
        "log": staff.get("/admin/messages/").content.decode(),
        "message": staff.get(f"/admin/messages/{message.pk}/").content.decode(),
        "order": staff.get(f"/admin/orders/{placed.pk}/").content.decode(),
        "dashboard": staff.get("/admin/").content.decode(),
        "editor": staff.get("/admin/templates/order_confirmed/nb/").content.decode(),
    }
    for name, page in pages.items():
        assert "Order confirmation" in page or "New order (to staff)" in page, name
    assert f"#{message.pk} Order confirmation</a>" in pages["log"]
    assert f"#{message.pk} Order confirmation</a>" in pages["order"]
    assert "New order (to staff)</a>" in pages["dashboard"]  # the latest failures
    assert '<option value="order_confirmed">Order confirmation</option>' in pages["log"]  # the filter
    assert 'aria-label="Edit Order confirmation in nb"' in pages["templates"]
    # the key stays visible, small, for those who look it up
    assert 'Order confirmation <span class="muted key">order_confirmed</span>' in pages["notifications"]
    assert "<code>order_confirmed</code>" not in pages["notifications"] + pages["templates"]


@pytest.mark.parametrize(("language", "name"), [("nb", "Ordrebekreftelse"), ("de", "Bestellbestätigung")])
def test_the_filter_follows_the_active_language(language, name):
    from django.template import Context, Template

    with translation.override(language):
        page = Template("{% load panel_tags %}{{ key|notification }}").render(
            Context({"key": "order_confirmed"})
        )
    assert page == name
