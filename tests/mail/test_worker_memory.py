"""The worker's outcome paths against the memory transport (the capture transport's in-memory
twin): what the worker hands over is exactly the stored message, once; a scripted deferral is
retried with the same Message-ID; a rejection fails only its message. No socket, no file: these
run in milliseconds, while the same paths over real SMTP are in test_delivery.py."""

from __future__ import annotations

import email
import email.policy

import pytest

from factories import order
from fixtures.delivery import set_due_now
from shopmail.domain.retry import Outcome
from shopmail.mail.models import Message, Status
from shopmail.mail.transports import make_transport, memory
from shopmail.mail.worker import drain

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_hands_over_the_stored_bytes_once(api, memory_store):
    api.put("/orders/1", order("1", status="processing"))
    drain()
    drain()  # nothing is due any more: nothing is handed over twice
    delivered = memory.outbox("worker")
    assert sorted(d.rcpt_to for d in delivered) == [("customer1@example.com",), ("staff@shop.test",)]
    for item in delivered:
        stored = Message.objects.get(pk=int(item.key))
        assert stored.status == Status.SENT
        parsed = email.message_from_bytes(item.data, policy=email.policy.SMTP)
        assert parsed["Message-ID"] == stored.message_id


def test_a_deferral_is_retried_with_the_same_message_id(api, memory_store):
    memory.script("customer1@example.com", [Outcome.DEFER, Outcome.DEFER])
    api.put("/orders/1", order("1", status="processing"))
    drain()
    confirmation = Message.objects.get(notification="order_confirmed")
    assert confirmation.status == Status.DEFERRED and "451" in confirmation.last_error
    for _ in range(2):
        set_due_now()
        drain()
    confirmation.refresh_from_db()
    assert confirmation.status == Status.SENT and confirmation.attempts == 3
    assert [a.outcome for a in confirmation.attempt_log.all()] == ["defer", "defer", "sent"]
    sent = [d for d in memory.outbox("worker") if d.rcpt_to == ("customer1@example.com",)]
    assert len(sent) == 1
    assert email.message_from_bytes(sent[0].data)["Message-ID"] == confirmation.message_id


def test_a_rejection_fails_only_its_message(api, memory_store):
    memory.script("customer1@example.com", [Outcome.FAIL])
    api.put("/orders/1", order("1", status="processing"))
    drain()
    statuses = dict(Message.objects.values_list("notification", "status"))
    assert statuses == {"order_confirmed": Status.FAILED, "admin_order_placed": Status.SENT}
    assert "550" in Message.objects.get(notification="order_confirmed").last_error
    assert [d.rcpt_to for d in memory.outbox("worker")] == [("staff@shop.test",)]


def test_the_memory_transport_is_for_tests_only(api, store, tmp_path):
    with pytest.raises(ValueError, match="unknown option"):
        make_transport({"kind": "memory", "directory": "x"}, tmp_path)
    refused = api.patch("/settings", {"transport": {"kind": "memory"}})
    assert refused.status_code == 422
    store.refresh_from_db()
    assert store.transport.get("kind") != "memory"


def test_mail_queued_while_the_worker_lingers_goes_out_in_one_batch(api, memory_store):
    """After an idle wait the worker waits ``linger`` seconds before it claims, so the orders that
    arrive meanwhile share one claim, one compose pass and one write of outcomes (issue 26)."""
    import asyncio
    import threading
    import time

    from shopmail.mail.models import Attempt
    from shopmail.mail.worker import Worker

    stop = threading.Event()
    worker = Worker(stop=stop, linger=1.0)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run()), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # the worker found nothing due and waits for mail
        api.put("/orders/1", order("1", status="processing"))  # wakes it: it lingers
        api.put("/orders/2", order("2", status="processing"))
        deadline = time.monotonic() + 15
        while Message.objects.filter(status=Status.SENT).count() < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert Message.objects.filter(status=Status.SENT).count() == 4
    assert len(memory.outbox("worker")) == 4
    assert len(set(Attempt.objects.values_list("at", flat=True))) == 1  # one write of outcomes
