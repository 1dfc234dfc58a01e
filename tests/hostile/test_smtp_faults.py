"""SMTP faults end to end: the worker against the programmable server. Nothing lost, nothing twice."""

from __future__ import annotations

from collections import Counter

import pytest

from factories import order
from fixtures.delivery import set_due_now
from shopmail.mail.models import Message, Status
from shopmail.mail.worker import drain
from shopmail.store.models import FeedEvent

pytestmark = pytest.mark.django_db(transaction=True)


def queue_two(api):
    api.put("/orders/1", order("1", status="processing"))  # order_confirmed + admin_order_placed
    assert Message.objects.count() == 2


def deliver_until_done(rounds=4):
    for _ in range(rounds):
        drain()
        if not Message.objects.exclude(status=Status.SENT).exists():
            return
        set_due_now()


@pytest.mark.parametrize(
    "stage,code",
    [
        ("connect", 421),
        ("mail", 451),
        ("mail", 452),
        ("rcpt", 451),
        ("rcpt", 452),
        ("data", 451),
        ("dot", 451),
    ],
)
def test_temporary_failure_defers_then_delivers_once(api, smtp_store, smtp_server, stage, code):
    smtp_server.fail(stage, code=code, times=1)
    queue_two(api)
    drain()
    if stage != "connect":  # a refused greeting costs no message: the pool may just open another connection
        assert Message.objects.filter(status=Status.DEFERRED).count() >= 1
        assert str(code) in Message.objects.filter(status=Status.DEFERRED).first().last_error
    deliver_until_done()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}
    ids = Counter(m.message_id for m in smtp_server.messages)
    assert set(ids) == set(Message.objects.values_list("message_id", flat=True))
    assert max(ids.values()) == 1


@pytest.mark.parametrize("stage", ["connect", "ehlo", "mail", "rcpt", "data", "dot"])
def test_disconnect_at_each_stage_defers_then_delivers(api, smtp_store, smtp_server, stage):
    smtp_server.disconnect(stage, times=1)
    queue_two(api)
    deliver_until_done()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len({m.message_id for m in smtp_server.messages}) == 2


def test_reply_after_dot_slower_than_timeout_is_retried_with_same_message_id(api, smtp_store, smtp_server):
    smtp_store.transport = {**smtp_store.transport, "timeout": 1, "pool_size": 1}
    smtp_store.save()
    smtp_server.stall(3, stage="dot", times=1)  # the server has the message; its reply comes too late
    queue_two(api)
    deliver_until_done()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}
    ids = Counter(m.message_id for m in smtp_server.messages)
    assert set(ids) == set(Message.objects.values_list("message_id", flat=True))
    assert sorted(ids.values()) in ([1, 2], [1, 1])  # at most the ambiguous one twice, same Message-ID


def test_permanent_failure_fails_that_message_only_and_keeps_the_reply(api, smtp_store, smtp_server):
    smtp_server.reject_recipient("customer1@example.com", code=550, text="5.1.1 Mailbox unavailable")
    queue_two(api)
    drain()
    failed = Message.objects.get(status=Status.FAILED)
    assert "550" in failed.last_error and "Mailbox unavailable" in failed.last_error
    assert Message.objects.filter(status=Status.SENT).count() == 1
    assert FeedEvent.objects.filter(type="message.failed").count() == 1


def test_auth_failure_is_a_configuration_error_and_messages_stay_queued(api, smtp_store, smtp_server):
    smtp_server.require_auth("shop", "right-password")
    smtp_store.transport = {**smtp_store.transport, "username": "shop", "password": "wrong"}
    smtp_store.save()
    queue_two(api)
    drain()
    statuses = set(Message.objects.values_list("status", flat=True))
    assert statuses == {Status.QUEUED}
    assert all(m.attempts == 0 for m in Message.objects.all())
    assert "535" in Message.objects.first().last_error or "auth" in Message.objects.first().last_error.lower()
    assert smtp_server.messages == []
    # fixed configuration: everything goes out
    smtp_store.transport = {**smtp_store.transport, "password": "right-password"}
    smtp_store.save()
    Message.objects.update(due_at=Message.objects.first().created_at)
    drain()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}


def test_starttls_required_but_not_offered_never_falls_back_to_plain_text(api, smtp_store, smtp_server):
    smtp_store.transport = {**smtp_store.transport, "security": "starttls"}
    smtp_store.save()
    queue_two(api)
    drain()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.QUEUED}
    assert "MAIL" not in smtp_server.commands
    assert smtp_server.messages == []


def test_deferred_past_lifetime_fails_once_and_is_reported_once(api, smtp_store, smtp_server, monkeypatch):
    monkeypatch.setenv("SHOPMAIL_RETRY_LIFETIME", "0.5")
    monkeypatch.setenv("SHOPMAIL_RETRY_INITIAL", "0.1")
    smtp_server.fail("rcpt", code=451)  # always
    queue_two(api)
    import time

    for _ in range(4):
        drain()
        time.sleep(0.3)
        set_due_now()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.FAILED}
    assert all("451" in m.last_error for m in Message.objects.all())
    assert FeedEvent.objects.filter(type="message.failed").count() == 2  # once per message
    drain()
    assert FeedEvent.objects.filter(type="message.failed").count() == 2
