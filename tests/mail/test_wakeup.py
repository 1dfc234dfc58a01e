"""Waking workers when mail is queued (mail/wakeup.py), on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
from django.db import transaction

from factories import order
from fixtures.delivery import shopmail_process
from shopmail.mail import wakeup
from shopmail.mail.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def timed_wait(listener: wakeup.Listener, timeout: float) -> tuple[threading.Thread, list[float]]:
    """Start ``listener.wait(timeout)`` in a thread; the list gets how long it took."""
    took: list[float] = []

    def run() -> None:
        started = time.monotonic()
        listener.wait(timeout)
        took.append(time.monotonic() - started)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, took


def test_a_listener_wakes_when_another_process_queues_mail(store):
    """``shopmail sync`` in a process of its own queues two e-mails: the listener here learns of
    it from the database (NOTIFY on PostgreSQL, data_version on SQLite), not from ``WAKE``."""
    listener = wakeup.Listener()
    try:
        listener.wait(0.01)  # connected and listening; the first look on SQLite
        wakeup.WAKE.clear()
        thread, took = timed_wait(listener, 30)
        time.sleep(0.3)
        document = json.dumps({"orders": [order("1", status="processing")]})
        sync = shopmail_process("sync", "-", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        sync.communicate(document, timeout=120)
        assert sync.returncode == 0
        thread.join(40)
    finally:
        listener.close()
    assert Message.objects.count() == 2
    assert took and took[0] < 25  # woken, not timed out after 30 s
    assert not wakeup.WAKE.is_set()  # not by this process's own event


def test_a_listener_is_not_woken_by_a_rolled_back_queueing(api, smtp_store):
    listener = wakeup.Listener()
    try:
        listener.wait(0.01)
        wakeup.WAKE.clear()
        thread, took = timed_wait(listener, 1.5)
        time.sleep(0.2)
        with pytest.raises(RuntimeError), transaction.atomic():
            api.put("/orders/2", order("2", status="processing"))
            raise RuntimeError("the ingest fails after queueing")
        thread.join(10)
    finally:
        listener.close()
    assert took and took[0] >= 1.4  # waited its full time: nothing was committed
    assert not wakeup.WAKE.is_set()


def test_a_worker_process_of_its_own_sends_new_mail_at_once_not_at_its_next_poll(
    api, smtp_store, smtp_server
):
    """``shopmail worker --poll 30``: mail queued by another process (here the API in the test
    process) goes out within seconds, as it does from the worker inside ``shopmail serve``; and
    SIGTERM stops it while it waits."""
    worker = shopmail_process(
        "worker", "--poll", "30", "--concurrency", "1", stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:  # drain its log (a full pipe would stop it)
        assert worker.stderr is not None
        for line in worker.stderr:
            lines.append(line)
            if "started" in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(60), "".join(lines)
        time.sleep(1.5)  # it has looked once, found nothing, and waits (up to 30 s)
        queued_at = time.monotonic()
        api.put("/orders/7", order("7", status="processing"))
        smtp_server.wait_for(2, timeout=15)
        took = time.monotonic() - queued_at
    finally:
        stopping = time.monotonic()
        worker.terminate()
        worker.wait(timeout=60)
        stopped_in = time.monotonic() - stopping
    assert took < 15
    assert worker.returncode == 0
    assert stopped_in < 10  # SIGTERM ends its wait at once, not at its next poll in 30 s
    assert {m.rcpt_tos[0] for m in smtp_server.messages} == {"customer7@example.com", "staff@shop.test"}
