"""Scale-out: three `shopmail worker` processes on one database deliver 2,000 messages, each once."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from factories import order
from fixtures.delivery import shopmail_process
from shopmail.mail.models import Message, Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_three_workers_deliver_2000_messages_exactly_once(api, smtp_store, smtp_server):
    for start in range(0, 1000, 250):
        orders = [order(str(i), status="processing") for i in range(start, start + 250)]
        assert api.post("/sync", {"orders": orders}).status_code == 200
    assert Message.objects.count() == 2000
    workers = [shopmail_process("worker", "--concurrency", "2") for _ in range(3)]
    try:
        smtp_server.wait_for(2000, timeout=240)
        deadline = time.monotonic() + 60
        while Message.objects.filter(status=Status.SENT).count() < 2000 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    time.sleep(0.5)
    ids = Counter(m.message_id for m in smtp_server.messages)
    assert len(ids) == 2000
    assert max(ids.values()) == 1  # nobody got a message twice
    assert set(ids) == set(Message.objects.values_list("message_id", flat=True))
    assert Message.objects.filter(status=Status.SENT).count() == 2000
    # every worker took part: the claims were shared, not serialised on one process
    assert len(set(a for a in Message.objects.values_list("attempt_log__worker", flat=True))) == 3
