"""flows.actions: the next snapshot an action makes, under the store's own status map and time
zone, and that it is one ingest run (the only path that queues order mail)."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import order
from shopmail.core.errors import Rejected
from shopmail.flows import actions
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message
from shopmail.store.models import Order, SyncRun

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("platform", "status_map", "confirmed", "cancelled"),
    [
        ("generic", {}, "processing", "cancelled"),
        ("woocommerce", {}, "processing", "cancelled"),
        ("magento", {}, "processing", "canceled"),
        ("generic", {"betalt": "processing", "processing": "on_hold"}, "paid", "cancelled"),
    ],
)
def test_the_status_an_action_sets_is_the_stores_own(store, platform, status_map, confirmed, cancelled):
    store.platform, store.status_map = platform, status_map
    store.save()
    assert store.meaning()(actions.status_for("processing", store)) == "processing"
    assert actions.status_for("processing", store) == confirmed
    assert actions.status_for("cancelled", store) == cancelled


def test_a_zone_less_ship_date_is_read_in_the_store_time_zone(store):
    store.time_zone = "Europe/Oslo"
    store.save()
    ingest(orders=[order("1", status="processing")])
    result = actions.run("1", {"action": "ship", "shipment": {"shipped_at": "2026-12-01T09:30:00"}}, "tester")
    assert result["shipment"]["shipped_at"] == "2026-12-01T09:30:00+01:00"


def test_an_action_is_one_run_and_a_version_never_older_than_the_stored_one(store):
    future = order("2", status="pending")
    future["updated_at"] = (
        dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
    ).isoformat()  # within clock skew
    ingest(orders=[future])
    stored = Order.objects.get(external_id="2")
    runs = SyncRun.objects.count()
    actions.run("2", {"action": "confirm"}, "tester")
    stored.refresh_from_db()
    assert stored.status == "processing"  # not taken for a stale snapshot
    assert SyncRun.objects.count() == runs + 1
    assert Message.objects.filter(order=stored, notification="order_confirmed").count() == 1


def test_rejections_name_the_field(store):
    ingest(orders=[order("3", status="processing")])
    with pytest.raises(Rejected) as caught:
        actions.run(
            "3", {"action": "ship", "shipment": {"lines": [{"line_id": "1", "quantity": 1}] * 2}}, "t"
        )
    assert caught.value.errors[0]["msg"] == "the same line twice"
    with pytest.raises(Rejected):
        actions.run("3", {"action": "ship", "shipment": {"id": "s1"}, "extra": 1}, "t")
    with pytest.raises(Order.DoesNotExist):
        actions.run("404", {"action": "confirm"}, "t")
