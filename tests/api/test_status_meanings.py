"""Issue 21 through the API: status meanings, tolerant input and clock skew (SPEC sections 2, 3, 4).

Runs on SQLite, and on PostgreSQL with DATABASE_URL set. Status names are the platforms' own
(WooCommerce wc_get_order_statuses(), Magento 2 sales_order_status).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from factories import evolve, order
from shopmail.mail import compose
from shopmail.mail.models import Message
from shopmail.store.models import Order, OrderEvent, StoreSettings

pytestmark = pytest.mark.django_db(transaction=False)


def sent(order_id: str = "10023") -> list[str]:
    return list(
        Message.objects.filter(order__external_id=order_id)
        .order_by("id")
        .values_list("notification", flat=True)
    )


def rendered(notification: str):
    message = Message.objects.get(notification=notification)
    result, _ = compose.render_message(message, message.payload, StoreSettings.load())
    return result


@pytest.fixture
def platform(api):
    def use(name: str, **extra):
        response = api.patch("/settings", {"platform": name, **extra})
        assert response.status_code == 200, response.json()
        return response.json()

    return use


@pytest.mark.parametrize("status", ["failed", "on-hold"])
def test_new_woocommerce_order_failed_or_on_hold_gets_no_confirmation(api, platform, status):
    platform("woocommerce")
    response = api.put("/orders/10023", order(status=status))
    assert response.status_code == 200
    assert "order_confirmed" not in sent()
    if status == "failed":
        assert sent() == ["admin_order_placed", "admin_order_failed"]
        assert Message.objects.get(notification="admin_order_failed").to_email == "staff@shop.test"
        assert "Payment failed for order 10023" in rendered("admin_order_failed").subject
    else:
        assert sent() == ["order_received", "admin_order_placed"]


def test_magento_pending_to_canceled_sends_a_cancellation(api, platform):
    platform("magento")
    first = order(status="pending")
    api.put("/orders/10023", first)
    response = api.put("/orders/10023", evolve(first, 5, status="canceled"))
    assert [m["notification"] for m in response.json()["messages"]] == ["order_cancelled"]
    assert sent() == ["order_received", "admin_order_placed", "order_cancelled"]
    history = api.get("/orders/10023").json()["history"]
    cancel = next(event for event in history if event["rule"] == "order_cancelled")
    assert (cancel["before"], cancel["after"]) == ("pending", "canceled")
    assert (cancel["before_meaning"], cancel["after_meaning"]) == ("pending", "cancelled")


def test_woocommerce_completed_and_refunded_send_their_own_mails(api, platform):
    platform("woocommerce")
    first = order(status="processing")
    api.put("/orders/10023", first)
    done = evolve(first, 5, status="completed")
    api.put("/orders/10023", done)
    refunded = evolve(done, 9, status="refunded")
    api.put("/orders/10023", refunded)
    api.put("/orders/10023", refunded)
    assert sent() == ["order_confirmed", "admin_order_placed", "order_completed", "order_refunded"]
    assert rendered("order_completed").subject == "Your order 10023 is complete"
    refund = rendered("order_refunded")
    assert refund.subject == "Your order 10023 has been refunded"
    assert "We have refunded your order 10023 of 20 Nov 2026: €30.19." in refund.text


def test_partial_refund_mail_names_its_amount(api, platform):
    platform("shopify")
    first = order(status="paid", refunds=[])
    api.put("/orders/10023", first)
    part = evolve(
        first, 5, status="partially_refunded", refunds=[{"id": 7001, "amount": 12.5, "reason": "Damaged mug"}]
    )
    response = api.put("/orders/10023", part)
    assert [m["notification"] for m in response.json()["messages"]] == ["order_refunded"]
    mail = rendered("order_refunded")
    assert mail.subject == "A refund for your order 10023"
    assert "We have refunded €12.50 of your order 10023" in mail.text
    assert "Reason: Damaged mug" in mail.text
    assert api.get("/orders/10023").json()["snapshot"]["refunds"][0]["amount"] == "12.5"


def test_unmapped_status_is_listed_with_its_orders_until_mapped(api, platform):
    platform("woocommerce")
    api.put("/orders/1", order("1", status="awaiting-pickup"))
    api.put("/orders/2", order("2", status="awaiting-pickup"))
    api.put("/orders/3", order("3", status="processing"))
    assert sent("1") == ["admin_order_placed"]
    listed = api.get("/settings").json()["unmapped_statuses"]
    assert [(u["status"], u["count"], sorted(u["orders"])) for u in listed] == [
        ("awaiting-pickup", 2, ["1", "2"])
    ]
    response = api.patch("/settings", {"status_map": {"awaiting-pickup": "processing"}})
    body = response.json()
    assert body["unmapped_statuses"] == []
    assert body["status_map"] == {"awaiting-pickup": "processing"}
    assert body["status_meanings"]["on-hold"] == "on_hold"
    api.patch("/settings", {"status_map": {"awaiting-pickup": None}})
    assert api.get("/settings").json()["status_map"] == {}


def test_bad_status_settings_are_422_naming_the_field(api):
    before = api.get("/settings").json()
    response = api.patch(
        "/settings", {"platform": "wix", "status_map": {"paid": "done"}, "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    locs = [tuple(error["loc"]) for error in response.json()["detail"]]
    assert ("body", "platform") in locs
    assert any(loc[:3] == ("body", "status_map", "paid") for loc in locs)
    assert api.get("/settings").json() == before


def test_integer_ids_and_numeric_prices_are_stored_exactly(api):
    raw = order("10023")
    raw["id"] = 10023
    raw["customer"]["id"] = 17
    raw["lines"][0]["id"] = 1
    raw["lines"][0]["unit_price"] = 10.5
    raw["totals"] = {"subtotal": 21, "shipping": 4.95, "tax": "5.24", "total": 31.19}
    response = api.put("/orders/10023", raw)
    assert response.status_code == 200, response.json()
    snapshot = api.get("/orders/10023").json()["snapshot"]
    assert snapshot["id"] == "10023" and snapshot["customer"]["id"] == "17"
    assert snapshot["lines"][0]["id"] == "1"
    assert snapshot["lines"][0]["unit_price"] == "10.5"
    assert snapshot["totals"] == {"subtotal": "21", "shipping": "4.95", "tax": "5.24", "total": "31.19"}
    sync = api.post("/sync", {"orders": [{**raw, "id": 10024, "number": 10024}]})
    assert sync.status_code == 200, sync.json()
    assert Order.objects.filter(external_id="10024", number="10024").exists()


def test_other_wrong_input_is_still_422_and_changes_nothing(api):
    raw = order("10023")
    raw["totals"]["total"] = "thirty"
    raw["lines"][0]["quantity"] = 1.5
    raw["customer"]["id"] = True
    response = api.put("/orders/10023", raw)
    assert response.status_code == 422
    locs = [tuple(error["loc"]) for error in response.json()["detail"]]
    assert ("body", "totals", "total") in locs
    assert ("body", "lines", 0, "quantity") in locs
    assert ("body", "customer", "id") in locs
    assert Order.objects.count() == 0


def test_times_without_a_zone_are_read_in_the_store_time_zone(api):
    assert api.patch("/settings", {"time_zone": "Europe/Oslo"}).status_code == 200
    raw = order("10023")
    raw["created_at"] = "2026-11-20T10:15:00"  # WooCommerce's date_created
    raw["updated_at"] = "2026-07-01T12:00:00"
    assert api.put("/orders/10023", raw).status_code == 200
    stored = Order.objects.get(external_id="10023")
    assert stored.created_at == dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)  # CET, +01:00
    assert stored.updated_at == dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)  # CEST, +02:00
    assert stored.snapshot["created_at"] == "2026-11-20T10:15:00+01:00"


def test_updated_at_ahead_of_the_clock_is_taken_as_arrival_time(api):
    now = timezone.now()
    first = order("10023", status="pending")
    first["updated_at"] = (now + dt.timedelta(days=3650)).isoformat()  # ten years ahead
    response = api.put("/orders/10023", first).json()
    assert response["clock_skew"] is True and response["stale"] is False
    stored = Order.objects.get(external_id="10023")
    assert abs(stored.updated_at - now) < dt.timedelta(minutes=1)
    note = OrderEvent.objects.get(order=stored, rule="clock_skew")
    assert note.outcome == "noted"
    assert dt.datetime.fromisoformat(note.before) == dt.datetime.fromisoformat(first["updated_at"])
    # the next real update is not stale: the confirmation goes out
    later = evolve(first, 0, status="processing")
    later["updated_at"] = (now + dt.timedelta(minutes=1)).isoformat()
    response = api.put("/orders/10023", later).json()
    assert response["stale"] is False and "clock_skew" not in response
    assert sent() == ["order_received", "admin_order_placed", "order_confirmed"]


def test_ten_minutes_of_erp_skew_does_not_stale_the_next_update(api):
    now = timezone.now()
    first = order("10023", status="pending", updated_at=(now + dt.timedelta(minutes=10)).isoformat())
    assert api.put("/orders/10023", first).json()["clock_skew"] is True
    nearly = order("10023", status="processing", updated_at=(now + dt.timedelta(minutes=4)).isoformat())
    response = api.put("/orders/10023", nearly).json()
    assert response["stale"] is False and "clock_skew" not in response
    assert "order_confirmed" in sent()


def test_an_order_stored_with_a_future_time_before_this_fix_is_not_stuck(api):
    first = order("10023", status="pending")
    api.put("/orders/10023", first)
    Order.objects.filter(external_id="10023").update(updated_at=dt.datetime(2036, 1, 1, tzinfo=dt.UTC))
    later = order("10023", status="processing", updated_at=timezone.now().isoformat())
    response = api.put("/orders/10023", later).json()
    assert response["stale"] is False
    assert sent()[-1] == "order_confirmed"
