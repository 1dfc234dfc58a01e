"""POST /api/v1/orders/{id}/actions (SPEC sections 2 and 7): each action is a new snapshot version
through the same ingest as PUT /api/v1/orders, with the staff user in the history."""

from __future__ import annotations

import pytest

from factories import order
from fixtures.delivery import composed
from shopmail.mail.models import Message
from shopmail.store.models import FeedEvent, Order, OrderEvent, SyncRun

pytestmark = pytest.mark.django_db(transaction=False)


def _two_lines(order_id: str = "500", status: str = "pending") -> dict:
    data = order(order_id, status=status)
    data["lines"].append(
        {
            "id": "2",
            "sku": "TEE-01",
            "name": "T-shirt",
            "quantity": 3,
            "unit_price": "5.00",
            "delivered_quantity": 0,
        }
    )
    return data


@pytest.fixture
def placed(api):
    response = api.put("/orders/500", _two_lines())
    assert response.status_code == 200
    return Order.objects.get(external_id="500")


def _customer_mails(notification: str) -> list[Message]:
    return list(Message.objects.filter(notification=notification, to_email="customer500@example.com"))


def test_confirm_sends_the_confirmation_and_records_the_staff_version(api, placed):
    response = api.post("/orders/500/actions", {"action": "confirm"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["by"] == "api key tests"
    assert [m["notification"] for m in body["messages"]] == ["order_confirmed"]
    placed.refresh_from_db()
    assert placed.status == "processing"
    assert placed.snapshot["source"] == "panel"
    event = OrderEvent.objects.get(order=placed, rule="order_confirmed")
    assert event.run is not None and event.run.source == "panel" and event.run.actor == "api key tests"
    feed = FeedEvent.objects.get(type="order.changed_by_staff")
    assert feed.data["snapshot"]["status"] == "processing" and feed.data["action"] == "confirm"
    history = api.get("/orders/500").json()["history"]
    assert [(h["rule"], h["source"], h["by"]) for h in history][-1] == (
        "order_confirmed",
        "panel",
        "api key tests",
    )
    assert history[0]["source"] == "api" and history[0]["by"] is None
    again = api.post("/orders/500/actions", {"action": "confirm"})
    assert again.status_code == 422
    assert "already confirmed" in again.json()["detail"][0]["msg"]
    assert len(_customer_mails("order_confirmed")) == 1


def test_preview_shows_the_emails_and_changes_nothing(api, placed):
    before = (Message.objects.count(), SyncRun.objects.count(), FeedEvent.objects.count())
    response = api.post(
        "/orders/500/actions", {"action": "cancel", "reason": "The mug is no longer made.", "preview": True}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["preview"] is True
    emails = {e["notification"]: e for e in body["emails"]}
    assert "The mug is no longer made." in emails["order_cancelled"]["text"]
    assert emails["order_cancelled"]["to"] == "customer500@example.com"
    assert (Message.objects.count(), SyncRun.objects.count(), FeedEvent.objects.count()) == before
    placed.refresh_from_db()
    assert placed.status == "pending"


def test_cancel_tells_the_reason_and_then_nothing_more_can_be_done(api, placed):
    response = api.post("/orders/500/actions", {"action": "cancel", "reason": "The mug is no longer made."})
    assert response.status_code == 200, response.content
    [mail] = _customer_mails("order_cancelled")
    assert "The mug is no longer made." in composed(mail).text
    for body in (
        {"action": "confirm"},
        {"action": "cancel"},
        {"action": "ship", "shipment": {}},
        {"action": "expected_date", "date": "2026-12-24"},
    ):
        refused = api.post("/orders/500/actions", body)
        assert refused.status_code == 422
        assert "cancelled" in refused.json()["detail"][0]["msg"]
    assert SyncRun.objects.filter(source="panel").count() == 1


def test_partial_then_final_shipment(api, placed):
    count = Message.objects.count()
    first = api.post(
        "/orders/500/actions",
        {
            "action": "ship",
            "shipment": {
                "lines": [{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}],
                "carrier": "Posten",
                "tracking_number": "PN123",
                "tracking_url": "https://tracking.example/PN123",
                "shipped_at": "2026-12-01",
                "drop_shipper": "Mugs Ltd",
            },
        },
    )
    assert first.status_code == 200, first.content
    assert [m["notification"] for m in first.json()["messages"]] == ["order_partially_shipped"]
    [partial] = _customer_mails("order_partially_shipped")
    assert "PN123" in composed(partial).text
    created = FeedEvent.objects.get(type="shipment.created").data
    assert created["shipment"]["drop_shipper"] == "Mugs Ltd"
    assert created["shipment"]["lines"] == [{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}]
    # only what is still to ship: line 1 is done, line 2 has 2 left
    too_many = api.post(
        "/orders/500/actions", {"action": "ship", "shipment": {"lines": [{"line_id": "2", "quantity": 3}]}}
    )
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "shipment", "lines", 0, "quantity"]
    done_line = api.post(
        "/orders/500/actions", {"action": "ship", "shipment": {"lines": [{"line_id": "1", "quantity": 1}]}}
    )
    assert done_line.status_code == 422
    final = api.post(
        "/orders/500/actions",
        {"action": "ship", "shipment": {"carrier": "Posten", "tracking_number": "PN456"}},
    )
    assert final.status_code == 200, final.content
    assert [m["notification"] for m in final.json()["messages"]] == ["order_shipped"]
    assert Message.objects.count() == count + 2
    nothing_left = api.post("/orders/500/actions", {"action": "ship", "shipment": {}})
    assert nothing_left.status_code == 422
    assert "nothing is left" in nothing_left.json()["detail"][0]["msg"]


def test_unknown_line_and_bad_input_change_nothing(api, placed):
    snapshot = dict(placed.snapshot)
    for body, loc in (
        (
            {"action": "ship", "shipment": {"lines": [{"line_id": "9", "quantity": 1}]}},
            ["body", "shipment", "lines", 0, "line_id"],
        ),
        (
            {"action": "ship", "shipment": {"lines": [{"line_id": "1", "quantity": 0}]}},
            ["body", "shipment", "lines", 0, "quantity"],
        ),
        (
            {"action": "ship", "shipment": {"tracking_url": "javascript:alert(1)"}},
            ["body", "shipment", "tracking_url"],
        ),
        ({"action": "ship"}, ["body", "shipment"]),
        ({"action": "expected_date", "line": "9", "date": "2026-12-24"}, ["body", "line"]),
        ({"action": "expected_date", "date": "soon"}, ["body", "date"]),
        ({"action": "expected_date"}, ["body", "date"]),
        ({"action": "refund"}, ["body", "action"]),
    ):
        response = api.post("/orders/500/actions", body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == loc, body
    placed.refresh_from_db()
    assert placed.snapshot == snapshot
    assert not SyncRun.objects.filter(source="panel").exists()
    assert not FeedEvent.objects.exists()
    assert api.post("/orders/nope/actions", {"action": "confirm"}).status_code == 404


def test_expected_date_for_a_line_and_the_order(api, placed):
    api.post("/orders/500/actions", {"action": "confirm"})
    response = api.post("/orders/500/actions", {"action": "expected_date", "line": "2", "date": "2026-12-24"})
    assert response.status_code == 200, response.content
    assert [c["rule"] for c in response.json()["changes"]] == ["expected_delivery_date_changed"]
    placed.refresh_from_db()
    assert placed.snapshot["lines"][1]["expected_delivery_date"] == "2026-12-24"
    whole = api.post("/orders/500/actions", {"action": "expected_date", "date": "2026-12-28"})
    assert whole.status_code == 200
    placed.refresh_from_db()
    assert placed.snapshot["expected_delivery_date"] == "2026-12-28"
    rules = [c["rule"] for c in whole.json()["changes"]]
    assert rules == ["expected_delivery_date_changed"]  # line 1 now; line 2 keeps its own date


def test_shipment_from_shopmail_is_kept_until_the_shop_carries_it(api, placed):
    response = api.post(
        "/orders/500/actions",
        {
            "action": "ship",
            "shipment": {"id": "S-1", "lines": [{"line_id": "1", "quantity": 2}], "tracking_number": "A1"},
        },
    )
    assert response.status_code == 200, response.content
    later = _two_lines()
    later["updated_at"] = "2026-12-31T10:00:00+00:00"
    later["picked"] = True
    assert api.put("/orders/500", later).status_code == 200
    placed.refresh_from_db()
    assert [s["id"] for s in placed.snapshot["shipments"]] == ["S-1"]
    assert placed.snapshot["picked"] is True
    # the shop now carries S-1 with its own tracking number: the shop's version wins
    later["updated_at"] = "2027-01-01T10:00:00+00:00"
    later["shipments"] = [
        {"id": "S-1", "tracking_number": "SHOP-9", "lines": [{"line_id": "1", "quantity": 2}]}
    ]
    assert api.put("/orders/500", later).status_code == 200
    placed.refresh_from_db()
    assert placed.snapshot["shipments"] == [
        {
            "id": "S-1",
            "tracking_number": "SHOP-9",
            "lines": [{"line_id": "1", "quantity": 2}],
            "carrier": None,
            "tracking_url": None,
            "shipped_at": None,
            "drop_shipper": None,
        }
    ]
    assert len(_customer_mails("order_partially_shipped")) == 1  # the shipment was announced once
