"""A large run: its orders applied chunk by chunk in its one transaction, its e-mails left for the
worker to compose (ADR 0012), and its result listing a bounded number of orders (issue 26)."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from factories import order
from shopmail.flows.ingest import ingest, run
from shopmail.mail.models import Message, Payload, Status
from shopmail.mail.transports import memory
from shopmail.mail.worker import drain
from shopmail.store.models import BackorderLine, Order, OrderEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _backordered(order_id: str) -> dict:
    snapshot = order(order_id, status="processing")
    snapshot["lines"][0]["backordered"] = True
    return snapshot


@pytest.mark.parametrize("size", [1, 3])
def test_a_run_leaves_its_mail_for_the_worker_to_compose(api, memory_store, size):
    if size == 1:  # an order PUT
        body = api.put("/orders/0", order("0", status="processing")).json()
    else:  # a sync document
        body = api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(size)]}).json()
    assert len(body["messages"]) == 2 * size  # listed as queued, with their ids
    assert not any(Payload.objects.values_list("raw", flat=True))  # nothing composed yet
    queued = {m.pk: m.message_id for m in Message.objects.all()}
    drain()
    delivered = {item.rcpt_to[0]: item.data for item in memory.outbox("worker")}
    for i in range(size):
        message = Message.objects.get(notification="order_confirmed", order__external_id=str(i))
        assert message.status == Status.SENT and message.message_id == queued[message.pk]
        parsed = email.message_from_bytes(delivered[f"customer{i}@example.com"], policy=email.policy.SMTP)
        assert parsed["Message-ID"] == message.message_id
        assert str(i) in parsed["Subject"]
        assert bytes(message.payload.raw) == delivered[f"customer{i}@example.com"]  # stored as sent


def test_the_mail_tells_of_the_run_even_if_the_order_changes_before_the_worker(api, memory_store):
    api.put("/orders/5", order("5", status="processing"))
    api.put("/orders/5", order("5", status="cancelled"))  # before the worker composed the first
    drain()
    confirmed = Message.objects.get(notification="order_confirmed")
    cancelled = Message.objects.get(notification="order_cancelled")
    assert confirmed.status == cancelled.status == Status.SENT
    assert confirmed.payload.subject != cancelled.payload.subject
    assert "cancel" not in confirmed.payload.text.lower() and "cancel" in cancelled.payload.text.lower()


def test_the_message_log_shows_what_would_be_sent_until_the_worker_composed_it(api, memory_store):
    [message] = [
        m
        for m in api.put("/orders/7", order("7", status="processing")).json()["messages"]
        if m["notification"] == "order_confirmed"
    ]
    before = api.get(f"/messages/{message['id']}").json()
    assert before["composed"] is False and before["headers"] == []
    assert "7" in before["subject"] and before["text"] and before["html"]  # rendered on view
    assert not Payload.objects.get(pk=message["id"]).raw  # and not stored
    drain()
    after = api.get(f"/messages/{message['id']}").json()
    assert after["composed"] is True and after["status"] == "sent"
    assert after["subject"] == before["subject"]
    # the same text, but for its signed links' timestamps (the two renders may fall in two seconds)
    assert _unsigned(after["text"]) == _unsigned(before["text"])
    assert dict(after["headers"])["Message-ID"] == after["message_id"]


def _unsigned(text: str) -> str:
    return re.sub(r"[\w-]+:[\w]+:[\w-]+/", "SIGNED/", text)


def test_chunks_link_history_to_mail_and_keep_backorder_lines(api, monkeypatch):
    api.put("/products/MUG-01", {"name": "Mug", "stock_quantity": 0})
    api.put("/orders/waiting", _backordered("waiting"))  # from before the run: told of the restock
    monkeypatch.setattr(run, "CHUNK", 2)
    orders = [_backordered("1"), order("2", status="processing"), _backordered("3")]
    orders += [order(str(i), status="processing") for i in range(4, 8)]
    body = api.post(
        "/sync", {"orders": orders, "products": [{"sku": "MUG-01", "name": "Mug", "stock_quantity": 4}]}
    ).json()
    assert body["counts"]["orders"]["new"] == 7
    restock = [m["order"] for m in body["messages"] if m["notification"] == "order_updated"]
    assert restock == ["waiting"]  # planned against the lines as they were before the run
    for event in OrderEvent.objects.filter(outcome__startswith="queued:").select_related("order", "message"):
        assert event.message is not None, event.rule
        assert event.message.order_id == event.order_id
        assert event.message.notification == event.outcome.partition(":")[2]
    assert sorted(BackorderLine.objects.values_list("order__external_id", "sku")) == [
        ("1", "MUG-01"),
        ("3", "MUG-01"),
        ("waiting", "MUG-01"),
    ]
    assert Order.objects.count() == 8


def test_a_run_can_list_a_bounded_number_of_orders(store):
    result = ingest(orders=[order(str(i), status="processing") for i in range(5)], listed=2)
    assert list(result.orders) == ["0", "1"]
    assert result.counts["orders"].new == 5
    assert len(result.messages) == 10  # every message is still listed
    listed = sum(len(entry["changes"]) for entry in result.orders.values())
    assert result.changes_not_listed == 3 * listed // 2  # the other three orders' changes, counted
    summary = result.summary()
    assert len(summary["changes"]) == listed and summary["changes_not_listed"] == result.changes_not_listed
    assert "changes_not_listed" not in ingest(orders=[order("9")]).summary()  # all listed by default


@pytest.mark.parametrize("scan_from", [2, 1_000_000], ids=["stored-hashes-read-at-once", "looked-up"])
def test_unchanged_orders_are_recognised_however_stored_hashes_are_read(store, monkeypatch, scan_from):
    from shopmail.flows.ingest import collect

    monkeypatch.setattr(collect, "_SCAN_FROM", scan_from)
    orders = [order(str(i), status="processing") for i in range(5)]
    ingest(orders=orders[:4])
    ingest(orders=[order("99", status="processing")])  # a stored order the last run does not carry
    changed = dict(orders[1], status="completed", updated_at="2026-11-20T12:00:00+00:00")
    result = ingest(orders=[orders[0], changed, *orders[2:]])
    counts = result.counts["orders"]
    assert (counts.unchanged, counts.changed, counts.new) == (3, 1, 1)
    assert [m["order"] for m in result.messages if m["notification"] == "order_confirmed"] == ["4"]
