"""Running an order from the panel (SPEC 7): each action shows its e-mails first, does nothing
until staff confirm, and is then in the history with who did it."""

from __future__ import annotations

import pytest
from panel_support import STAFF_EMAIL

from factories import order
from fixtures.delivery import composed
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(store):
    ingest(orders=[order("700", status="pending")])
    return Order.objects.get(external_id="700")


def test_cancel_with_a_reason_previews_then_sends(staff, pending):
    url = f"/admin/orders/{pending.pk}/action/cancel/"
    count = Message.objects.count()
    preview = staff.post(url, {"reason": "We could not reach you by phone."})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'id="action-preview"' in page and "We could not reach you by phone." in page
    assert "order_cancelled" in page
    assert Message.objects.count() == count
    pending.refresh_from_db()
    assert pending.status == "pending"
    done = staff.post(url, {"reason": "We could not reach you by phone.", "confirm": "1"}, follow=True)
    assert done.status_code == 200
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    mail = Message.objects.get(notification="order_cancelled", to_email="customer700@example.com")
    assert "We could not reach you by phone." in composed(mail).text
    page = done.content.decode()
    assert f"by {STAFF_EMAIL} (panel)" in page
    assert "nothing more can be done" in page


def test_shipping_wizard_offers_only_what_is_left_and_refuses_more(staff, pending):
    page = staff.get(f"/admin/orders/{pending.pk}/").content.decode()
    assert 'name="qty_1"' in page and 'max="2"' in page
    url = f"/admin/orders/{pending.pk}/action/ship/"
    refused = staff.post(url, {"qty_1": "3", "carrier": "Posten", "confirm": "1"})
    assert refused.status_code == 422
    assert "more than is left to ship (2)" in refused.content.decode()
    assert not Message.objects.filter(notification__in=["order_shipped", "order_partially_shipped"]).exists()
    staff.post(url, {"qty_1": "1", "carrier": "Posten", "tracking_number": "PN1", "confirm": "1"})
    assert Message.objects.filter(notification="order_partially_shipped").count() == 1
    page = staff.get(f"/admin/orders/{pending.pk}/").content.decode()
    assert 'max="1"' in page and "PN1" in page


def test_actions_need_staff(client, customer_user, pending):
    client.force_login(customer_user)
    response = client.post(f"/admin/orders/{pending.pk}/action/confirm/", {"confirm": "1"})
    assert response.status_code in (302, 403)
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_second_click_on_confirm_does_nothing(staff, pending):
    import re as re_

    url = f"/admin/orders/{pending.pk}/action/ship/"
    preview = staff.post(url, {"qty_1": "1", "carrier": "Posten"}).content.decode()
    version = re_.search(r'name="version" value="([0-9a-f]+)"', preview)
    assert version and version.group(1) == pending.snapshot_hash
    form = {"qty_1": "1", "carrier": "Posten", "version": version.group(1), "confirm": "1"}
    assert staff.post(url, form).status_code == 302
    second = staff.post(url, form)
    assert second.status_code == 409 and "nothing was done" in second.content.decode()
    pending.refresh_from_db()
    assert len(pending.snapshot["shipments"]) == 1
