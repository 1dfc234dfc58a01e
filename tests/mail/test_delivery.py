"""Delivery against a real SMTP server: from the API to the bytes received, through every fault."""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import json
import logging
import signal
import threading

import pytest
from django.db import connection

from factories import evolve, order
from fixtures.delivery import set_due_now, shopmail_process
from shopmail.logs import JsonFormatter
from shopmail.mail.models import Attempt, Message, Status, TemplateVersion
from shopmail.mail.worker import Worker, claim, drain

pytestmark = pytest.mark.django_db(transaction=True)


def statuses():
    return dict(Message.objects.values_list("notification", "status"))


def test_order_put_to_bytes_received(api, smtp_store, smtp_server):
    body = api.put("/orders/10023", order(status="processing")).json()
    assert {m["notification"] for m in body["messages"]} == {"order_confirmed", "admin_order_placed"}
    drain()
    received = smtp_server.wait_for(2)
    by_to = {m.rcpt_tos[0]: m for m in received}
    customer = by_to["customer10023@example.com"]
    parsed = customer.message
    db = Message.objects.get(notification="order_confirmed")
    assert db.status == Status.SENT and db.sent_at is not None
    assert parsed["Message-ID"] == db.message_id == customer.message_id
    assert parsed["From"].addresses[0].addr_spec == "shop@shop.test"
    assert "10023" in parsed["Subject"]
    assert parsed.get_body(("plain",)).get_content().strip()
    assert "<table" in parsed.get_body(("html",)).get_content()
    staff = by_to["staff@shop.test"].message
    assert staff["Reply-To"].addresses[0].addr_spec == "customer10023@example.com"
    assert len(smtp_server.messages) == 2


def test_each_outcome_is_logged_as_a_json_line_with_its_message_id(api, smtp_store, smtp_server):
    smtp_server.reject_recipient("customer2@example.com")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("shopmail.worker")
    logger.addHandler(handler)
    try:
        for number in ("1", "2", "3"):
            api.put(f"/orders/{number}", order(number, status="processing"))
        drain()
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    outcomes = [(line["message_id"], line["status"]) for line in lines if "status" in line]
    expected = sorted(Message.objects.values_list("pk", "status"))
    assert sorted(outcomes) == expected  # every message once, with its own outcome
    assert {status for _, status in expected} == {Status.SENT, Status.FAILED}
    for line in lines:
        if line.get("status") == Status.SENT:
            assert line["msg"] == f"message {line['message_id']} sent" and line["code"] == 250
            assert "each" not in line and line["level"] == "info"


def test_server_down_then_up_delivers_everything_once(api, smtp_store, smtp_server):
    smtp_server.stop()
    api.put("/orders/1", order("1", status="processing"))
    drain()
    assert set(statuses().values()) == {Status.DEFERRED}
    assert Message.objects.filter(last_error="").count() == 0
    smtp_server.start()
    set_due_now()
    drain()
    assert set(statuses().values()) == {Status.SENT}
    received = smtp_server.wait_for(2)
    assert sorted(m.message_id for m in received) == sorted(
        Message.objects.values_list("message_id", flat=True)
    )
    assert Attempt.objects.filter(outcome="defer").count() == 2


def test_4xx_then_success_reuses_message_id(api, smtp_store, smtp_server):
    smtp_server.fail("rcpt", code=451, times=1)
    api.put("/orders/1", order("1", status="pending"))
    drain()
    deferred = Message.objects.filter(status=Status.DEFERRED)
    assert deferred.count() == 1 and "451" in deferred.get().last_error
    set_due_now()
    drain()
    assert set(statuses().values()) == {Status.SENT}
    ids = [m.message_id for m in smtp_server.wait_for(2)]
    assert len(ids) == len(set(ids)) == 2
    message = Message.objects.get(pk=deferred.model.objects.order_by("-attempts").first().pk)
    assert message.attempts == 2
    assert [a.outcome for a in message.attempt_log.all()] == ["defer", "sent"]


def test_550_fails_only_that_message(api, smtp_store, smtp_server):
    smtp_server.reject_recipient("customer1@example.com")
    api.put("/orders/1", order("1", status="processing"))
    drain()
    assert statuses() == {"order_confirmed": Status.FAILED, "admin_order_placed": Status.SENT}
    failed = Message.objects.get(notification="order_confirmed")
    assert "550" in failed.last_error
    assert [m.rcpt_tos for m in smtp_server.messages] == [("staff@shop.test",)]


def test_poison_message_is_held_while_others_flow(api, smtp_store, smtp_server):
    TemplateVersion.objects.create(
        notification="order_confirmed",
        language="en",
        subject="Order {{ order.number }}",
        text="{{ order.lines[99].name }}",
        html="<p>x</p>",
    )
    assert api.put("/orders/1", order("1", status="processing")).status_code == 200
    api.put("/orders/2", order("2", status="pending"))
    # the ingest succeeded: the worker composes (ADR 0012) and holds the one it cannot render
    assert not Message.objects.filter(payload__raw__isnull=False).exists()
    drain()
    assert Message.objects.get(notification="order_confirmed").status == Status.HELD
    assert Message.objects.get(notification="order_confirmed").last_error
    assert Message.objects.filter(status=Status.SENT).count() == 3
    assert Message.objects.filter(payload__raw__isnull=False).count() == 3  # stored as sent
    assert len(smtp_server.wait_for(3)) == 3


def test_resend_with_custom_message(api, smtp_store, smtp_server):
    api.put("/orders/1", order("1", status="processing"))
    drain()
    original = Message.objects.get(notification="order_confirmed")
    response = api.post(f"/messages/{original.pk}/resend", {"custom_message": "Sorry for the delay, Ana!"})
    assert response.status_code == 201
    copy_id = response.json()["id"]
    drain()
    copy = Message.objects.get(pk=copy_id)
    assert copy.resend_of_id == original.pk and copy.message_id != original.message_id
    [received] = [m for m in smtp_server.wait_for(3) if m.message_id == copy.message_id]
    assert "Sorry for the delay, Ana!" in received.message.get_body(("plain",)).get_content()
    assert "Sorry for the delay, Ana!" in received.message.get_body(("html",)).get_content()
    detail = api.get(f"/messages/{copy_id}").json()
    assert detail["status"] == "sent" and detail["attempt_log"][0]["code"] == 250
    assert any(name == "Message-ID" for name, _ in detail["headers"])


def test_notify_on_demand(api, smtp_store, smtp_server):
    api.put("/orders/1", order("1", status="processing"))
    drain()
    response = api.post(
        "/orders/1/notify", {"notification": "order_confirmed", "custom_message": "Here again"}
    )
    assert response.status_code == 201
    assert api.post("/orders/1/notify", {"notification": "admin_order_placed"}).status_code == 422
    drain()
    assert len(smtp_server.wait_for(3)) == 3


def test_message_log_filters(api, smtp_store):
    api.put("/orders/1", order("1", status="processing"))
    api.put("/orders/2", order("2", status="pending"))
    assert api.get("/messages").json()["count"] == 4
    assert api.get("/messages?order=1").json()["count"] == 2
    assert (
        api.get("/messages?notification=order_received").json()["items"][0]["to"] == "customer2@example.com"
    )
    assert api.get("/messages?status=queued").json()["count"] == 4
    assert api.get("/messages?status=bogus").status_code == 422


def test_two_workers_never_send_the_same_message(api, smtp_store, smtp_server):
    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(30)]})
    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = smtp_server.wait_for(60)
    ids = [m.message_id for m in received]
    assert len(ids) == len(set(ids)) == 60
    assert Message.objects.filter(status=Status.SENT).count() == 60


def test_claim_left_by_a_dead_worker_is_taken_over(api, smtp_store, smtp_server, monkeypatch):
    api.put("/orders/1", order("1", status="pending"))
    monkeypatch.setenv("SHOPMAIL_CLAIM_TIMEOUT", "0")
    assert len(claim("dead-worker", 10)) == 2  # claimed, then the worker "dies"
    drain()
    assert set(statuses().values()) == {Status.SENT}
    assert len(smtp_server.wait_for(2)) == 2


def test_new_mail_is_not_starved_by_deferred_backlog(api, smtp_store, smtp_server):
    smtp_server.stop()
    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(10)]})
    drain()
    set_due_now()
    smtp_server.start()
    api.put("/orders/new", order("new", status="pending"))
    ids = claim("w", 2)
    assert set(Message.objects.filter(pk__in=ids).values_list("order__external_id", flat=True)) == {"new"}


def test_a_claim_takes_order_mail_first_then_new_mail_before_retries(api, smtp_store):
    """One statement merges the three kinds of due mail (queued, deferred, a lease left by a
    dead worker) in the order (priority, new before retries, due time); what is not due yet,
    or leased to a live worker, is not taken."""
    import datetime as dt

    from django.utils import timezone

    from shopmail.mail.models import Priority

    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(6)]})
    ids = sorted(Message.objects.values_list("pk", flat=True))  # 12 messages

    def minutes(n: float) -> dt.datetime:
        return timezone.now() + dt.timedelta(minutes=n)

    def make(index: int, **values) -> None:
        Message.objects.filter(pk=ids[index]).update(**values)

    for index in (0, 1):
        make(index, priority=Priority.BULK, due_at=minutes(-120))  # bulk: after all order mail
    make(2, status=Status.DEFERRED, attempts=1, due_at=minutes(-60))  # retries: after new mail
    make(3, status=Status.DEFERRED, attempts=1, due_at=minutes(-59))
    make(4, status=Status.DEFERRED, attempts=1, due_at=minutes(5))  # not due
    make(5, status=Status.DEFERRED, attempts=2, due_at=minutes(30))  # not due
    make(6, status=Status.SENDING, claimed_by="dead", claimed_until=minutes(-1), due_at=minutes(-10))
    make(7, status=Status.SENDING, claimed_by="live", claimed_until=minutes(5), due_at=minutes(-10))
    make(8, due_at=minutes(5))  # queued for later
    for index, age in ((9, -3), (10, -2), (11, -1)):
        make(index, due_at=minutes(age))

    batches = [claim("w", 3), claim("w", 3), claim("w", 10), claim("w", 10)]

    expected = [[6, 9, 10], [2, 3, 11], [0, 1], []]
    assert batches == [[ids[i] for i in batch] for batch in expected]
    taken = Message.objects.filter(pk__in=[pk for batch in batches for pk in batch])
    assert set(taken.values_list("status", "claimed_by")) == {(Status.SENDING, "w")}
    assert Message.objects.get(pk=ids[7]).claimed_by == "live"


@contextlib.contextmanager
def locked_elsewhere(rows):
    """``rows`` locked FOR UPDATE by another connection (a thread's own transaction) while the
    block runs; it lets go after 30 s at the latest, or when the block ends."""
    from django.db import transaction

    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            list(rows.select_for_update())
            locked.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        holder.join()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's (SQLite has one writer)"
)
def test_a_claim_skips_rows_another_transaction_holds_without_waiting(api, smtp_store):
    import time

    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(3)]})
    ids = sorted(Message.objects.values_list("pk", flat=True))
    with locked_elsewhere(Message.objects.filter(pk__in=ids[:2])):
        started = time.monotonic()
        taken = claim("w", 10)
        waited = time.monotonic() - started
    assert taken == ids[2:]
    assert waited < 5  # skipped, not waited for (the holder lets go after 30 s)
    assert claim("w", 10) == ids[:2]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are PostgreSQL's (SQLite has one writer)"
)
def test_composing_leaves_out_payloads_another_worker_is_writing_without_waiting(api, smtp_store):
    """A worker frozen inside its write of composed bytes keeps those payload rows locked; the
    worker that took its claim over leaves them for after its own claim instead of waiting."""
    import time

    from shopmail.mail.models import Payload
    from shopmail.mail.worker import prepare
    from shopmail.store.models import StoreSettings

    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(2)]})
    ids = sorted(Message.objects.values_list("pk", flat=True))
    with locked_elsewhere(Payload.objects.filter(pk=ids[0])):
        started = time.monotonic()
        prepared = prepare(ids, StoreSettings.load())
        waited = time.monotonic() - started
    assert waited < 5  # left out, not waited for (the holder lets go after 30 s)
    assert [envelope.key for envelope in prepared.envelopes] == [str(pk) for pk in ids[1:]]
    stored = dict(Payload.objects.values_list("pk", "raw"))
    assert stored[ids[0]] is None and all(stored[pk] is not None for pk in ids[1:])


def test_worker_killed_mid_batch_loses_nothing(api, smtp_store, smtp_server):
    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(10)]})
    smtp_server.stall(30, stage="dot", times=1)  # the first message is received, its reply never comes
    proc = shopmail_process("worker", "--concurrency", "1", env={"SHOPMAIL_CLAIM_TIMEOUT": "1"})
    smtp_server.wait_for(1, timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert Message.objects.filter(status=Status.SENT).count() < 20
    drain()  # no waiting out the claim: a worker of this host whose process is gone is taken over at once
    assert Message.objects.exclude(status=Status.SENT).count() == 0
    received = smtp_server.messages
    by_id: dict[str, int] = {}
    for m in received:
        by_id[m.message_id] = by_id.get(m.message_id, 0) + 1
    assert set(by_id) == set(Message.objects.values_list("message_id", flat=True))
    assert all(count <= 2 for count in by_id.values())  # a repeat is the same Message-ID


def test_sigterm_finishes_in_flight_and_stops(api, smtp_store, smtp_server):
    api.put("/orders/1", order("1", status="processing"))
    smtp_server.stall(1.5, stage="dot", times=1)
    proc = shopmail_process("worker", "--concurrency", "1")
    smtp_server.wait_for(1, timeout=30)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert Message.objects.filter(status=Status.SENDING).count() == 0
    assert Message.objects.filter(status=Status.SENT).count() >= 1


def test_capture_transport_writes_eml(api, store, settings):
    from pathlib import Path

    api.put("/orders/1", order("1", status="processing"))
    drain()
    assert set(statuses().values()) == {Status.SENT}
    files = list(Path(settings.DATA_DIR).glob("**/*.eml"))
    assert len(files) >= 2
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    assert set(Message.objects.values_list("message_id", flat=True)) <= {p["Message-ID"] for p in parsed}


def test_worker_stop_event_ends_run(smtp_store):
    stop = threading.Event()
    stop.set()
    import asyncio

    asyncio.run(Worker(stop=stop).run())  # returns at once instead of waiting forever


def test_metrics_and_healthz(api, smtp_store, smtp_server, client):
    api.put("/orders/1", evolve(order("1", status="processing"), 1))
    drain()
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 401
    text = client.get("/metrics", **api.headers).content.decode()
    assert 'shopmail_messages{status="sent"} 2' in text
    assert 'shopmail_delivery_attempts_total{outcome="sent"} 2' in text
    assert "shopmail_delivery_latency_seconds_count 2" in text


def test_backorder_choice_mail_carries_both_signed_links(api, smtp_store, smtp_server):
    from shopmail.mail import links

    snap = order("1", status="processing")
    snap["lines"][0]["backordered"] = True
    api.put("/orders/1", snap)
    drain()  # the confirmation (and staff mail) first: the choice follows it (outbox.FOLLOW_UPS)
    first = smtp_server.wait_for(2)
    assert "order_confirmed" in {m.message["X-Shopmail-Notification"] for m in first}
    from django.utils import timezone

    from shopmail.mail.models import Message

    Message.objects.filter(notification="order_backorder_choice").update(due_at=timezone.now())
    drain()
    received = smtp_server.wait_for(3)
    assert received[2].message["X-Shopmail-Notification"] == "order_backorder_choice"
    [choice] = [m for m in received if "backorder" in m.message["X-Shopmail-Notification"]]
    text = choice.message.get_body(("plain",)).get_content()
    found = {
        links.backorder_from_token(part.rstrip("/").rsplit("/", 1)[-1])
        for part in text.split()
        if "/account/backorder/" in part
    }
    assert found == {("1", "one_shipment"), ("1", "ship_available")}


def test_a_batch_is_sent_in_priority_order_whatever_order_it_was_read_in(api, smtp_store):
    from shopmail.mail.models import Priority
    from shopmail.mail.worker import prepare
    from shopmail.store.models import StoreSettings

    api.post("/sync", {"orders": [order(str(i), status="processing") for i in range(4)]})
    ids = sorted(Message.objects.values_list("pk", flat=True))
    bulk = ids[:3]  # the oldest messages become bulk mail: they must go last
    Message.objects.filter(pk__in=bulk).update(priority=Priority.BULK)
    keys = [int(e.key) for e in prepare(list(reversed(ids)), StoreSettings.load()).envelopes]
    assert keys == [pk for pk in ids if pk not in bulk] + bulk


def test_message_log_refuses_an_offset_past_any_database_integer(api):
    # found by schemathesis: SQLite refused the OFFSET ("datatype mismatch") and the API said 500
    response = api.get("/messages?offset=13891904604065755136")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "limit"]
    assert api.get("/messages?offset=1000000000").status_code == 200
