"""The update digest (SPEC 4, ``update_digest_minutes``), with a clock the test controls (the
worker's claim at a given time): order-update changes join one e-mail, milestones never wait and
carry the waiting changes (issue 20)."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import evolve, order, shipment
from fixtures.customer_kit import rendered
from shopmail.flows.ingest import ingest
from shopmail.mail import worker
from shopmail.mail.models import Message, Status

pytestmark = pytest.mark.django_db(transaction=False)


def put(*snapshots):
    for snapshot in snapshots:
        assert not ingest(orders=[snapshot]).rejected


def customer_mail(notification: str):
    return Message.objects.filter(notification=notification).exclude(to_email="staff@shop.test")


@pytest.fixture
def digest(store):
    store.update_digest_minutes = 10
    store.save()
    return store


def two_lines():
    first = order("D-1", status="processing")
    first["lines"].append({"id": "2", "sku": "LAMP", "name": "Lamp", "quantity": 1, "unit_price": "49.00"})
    return first


def test_off_by_default_each_update_is_its_own_email(store):
    first = two_lines()
    put(first, evolve(first, 10, picked=True), evolve(first, 20, picked=True, delivery_note_printed=True))
    assert customer_mail("order_updated").count() == 2
    assert all(m.due_at <= m.created_at + dt.timedelta(seconds=1) for m in customer_mail("order_updated"))


def test_updates_within_the_window_join_one_email(digest):
    first = two_lines()
    put(first)
    confirmed = customer_mail("order_confirmed").get()
    claimed_at = confirmed.due_at
    assert confirmed.pk in worker.claim("w", 10, now=claimed_at), "milestones never wait"

    second = evolve(first, 10, picked=True)
    put(second)
    [waiting] = customer_mail("order_updated")
    assert waiting.due_at >= waiting.created_at + dt.timedelta(minutes=10) - dt.timedelta(seconds=1)
    assert waiting.pk not in worker.claim("w", 10, now=waiting.created_at + dt.timedelta(minutes=5))

    third = evolve(second, 20, delivery_note_printed=True)
    third["lines"][1]["expected_delivery_date"] = "2026-12-03"
    put(third)
    fourth = evolve(third, 30)
    fourth["lines"][1]["expected_delivery_date"] = "2026-12-09"
    put(fourth)
    assert customer_mail("order_updated").count() == 1, "one e-mail for every change in the window"
    waiting.refresh_from_db()
    rules = [c["rule"] for c in waiting.payload.context["changes"]]
    assert rules == ["picked", "delivery_note_printed", "expected_delivery_date_changed"]
    text = rendered(waiting).text
    assert "picked" in text and "delivery note" in text
    assert "Lamp is now expected to be delivered on 9" in text and "3 Dec" not in text  # first to last

    assert waiting.pk not in worker.claim("w", 10, now=waiting.due_at - dt.timedelta(seconds=1))
    assert waiting.pk in worker.claim("w", 10, now=waiting.due_at)


def test_a_milestone_carries_the_waiting_changes_and_the_digest_is_dropped(digest):
    first = two_lines()
    second = evolve(first, 10, picked=True)
    third = evolve(second, 20, shipments=[shipment("s1", {"1": 2})])
    put(first, second, third)
    digest_mail = customer_mail("order_updated").get()
    assert digest_mail.status == Status.CANCELLED and "order_partially_shipped" in digest_mail.last_error
    partial = customer_mail("order_partially_shipped").get()
    assert partial.due_at <= partial.created_at + dt.timedelta(seconds=1), "milestones never wait"
    assert "picked" in [c["rule"] for c in partial.payload.context["changes"]]
    assert "Your order has been picked" in rendered(partial).text


def test_staff_mail_never_waits(digest):
    first = two_lines()
    put(first, evolve(first, 10, picked=True))
    staff = Message.objects.filter(to_email="staff@shop.test")
    assert staff.exists() and all(m.due_at <= m.created_at + dt.timedelta(seconds=1) for m in staff)
