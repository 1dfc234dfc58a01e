""" "Send notification…" on an order starts on the notification matching the order's status and
sends only after a preview and a confirmation (issue 20, item 9)."""

from __future__ import annotations

import re

import pytest

from factories import evolve, order, shipment
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db


def selected(page: str) -> str:
    select = page[page.index('name="notification"') :]
    match = re.search(r'<option value="([a-z_]+)" selected>', select)
    assert match, select[:2000]
    return match.group(1)


@pytest.mark.parametrize(
    ("status", "shipments", "expected"),
    [
        ("pending", [], "order_received"),
        ("processing", [], "order_confirmed"),
        ("processing", [shipment("s1", {"1": 1})], "order_partially_shipped"),
        ("processing", [shipment("s1", {"1": 2})], "order_shipped"),
        ("cancelled", [], "order_cancelled"),
    ],
)
def test_the_dialog_starts_on_the_notification_of_the_status(staff, store, status, shipments, expected):
    first = order("N-9", status="processing")
    ingest(orders=[first])
    ingest(orders=[evolve(first, 30, status=status, shipments=shipments)])
    page = staff.get(f"/admin/orders/{Order.objects.get().pk}/").content.decode()
    assert selected(page) == expected


def test_send_needs_a_preview_and_a_confirmation(staff, placed):
    before = Message.objects.count()
    url = f"/admin/orders/{placed.pk}/notify/"
    response = staff.post(url, {"notification": "order_confirmed", "custom_message": "Thank you & welcome!"})
    assert response.status_code == 200
    page = response.content.decode()
    assert Message.objects.count() == before, "nothing is sent before the confirmation"
    preview = page[page.index('id="notify-preview"') :]
    assert "Order 10023" in preview or "10023" in preview
    assert "Thank you &amp; welcome!" in preview
    assert 'name="confirm" value="1"' in preview
    response = staff.post(
        url, {"notification": "order_confirmed", "custom_message": "Thank you & welcome!", "confirm": "1"}
    )
    assert response.status_code == 302
    assert Message.objects.count() == before + 1
    sent = Message.objects.order_by("-pk").first()
    assert sent.notification == "order_confirmed"
    assert sent.payload.context["custom_message"] == "Thank you & welcome!"


def test_back_order_choice_is_shown_in_words(staff, placed):
    from shopmail.support import backorder

    placed.snapshot["lines"][0]["backordered"] = True
    placed.save()
    backorder.choose(placed, "ship_available")
    page = staff.get(f"/admin/orders/{placed.pk}/").content.decode()
    assert "Ship what is available now, the rest when it arrives" in page
    assert ">ship_available" not in page


def badge(page: str) -> str:
    start = page.index('id="transport-badge"')
    return page[start : page.index("</dd>", start)]


def test_a_failed_test_email_turns_the_transport_badge_red(staff, smtp_store, smtp_server):
    smtp_server.reject_recipient("me@shop.test", 550, "5.1.1 No such mailbox here")
    staff.post("/admin/settings/test/", {"to": "me@shop.test"})
    shown = badge(staff.get("/admin/settings/").content.decode())
    assert "badge-bad" in shown and "test e-mail failed" in shown and "No such mailbox here" in shown
    staff.post("/admin/settings/test/", {"to": "other@shop.test"})
    shown = badge(staff.get("/admin/settings/").content.decode())
    assert "badge-ok" in shown and "badge-bad" not in shown


def test_staff_add_a_language_from_the_template_list(staff, store):
    page = staff.get("/admin/templates/").content.decode()
    assert 'id="add-language"' in page
    response = staff.get("/admin/templates/add-language/?language=FR")
    assert response.status_code == 302 and response["Location"] == "/admin/templates/order_confirmed/fr/"
    assert staff.get(response["Location"]).status_code == 200
    bad = staff.get("/admin/templates/add-language/?language=klingon")
    assert bad.status_code == 302 and bad["Location"] == "/admin/templates/"
