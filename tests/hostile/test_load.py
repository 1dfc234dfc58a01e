"""Load: 10,000 orders through the API while a 20,000-recipient newsletter sends.

Marked slow: it runs in CI (`scripts/test`) but not in the quick loop (`-m 'not slow'`).
Every order mail must be delivered exactly once, no client may see "database is locked", and the
order-mail latency (queued → accepted by the SMTP server) is printed with its p99.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from factories import order
from shopmail.mail.models import Message, Priority, Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ORDERS = 10_000
SUBSCRIBERS = 20_000


def test_orders_and_newsletter_under_load(api, smtp_store, smtp_server, server, api_key):
    customers = [
        {
            "id": f"n{i}",
            "email": f"reader{i}@example.com",
            "first_name": "Reader",
            "language": "en",
            "newsletter_opt_in": True,
            "newsletter_opt_in_at": "2026-01-01T00:00:00Z",
        }
        for i in range(SUBSCRIBERS)
    ]
    for start in range(0, SUBSCRIBERS, 5000):
        assert api.post("/sync", {"customers": customers[start : start + 5000]}).status_code == 200
    smtp_store.admin_email = ""  # customer mail only: one order mail per order
    smtp_store.save()
    srv = server(env={"SHOPMAIL_CLAIM_TIMEOUT": "120"})  # web + in-process worker
    status, newsletter = srv.request(
        "POST",
        "/newsletters",
        api_key,
        {
            "subject": "Winter sale",
            "html": "<h1>Winter sale</h1><p>Everything warm is 20 % off.</p>",
            "segment": {},
        },
    )
    assert status in (200, 201), newsletter
    status, sent = srv.request("POST", f"/newsletters/{newsletter['id']}/send", api_key, {})
    assert status in (200, 201, 202), sent

    started = time.monotonic()
    statuses: Counter[int] = Counter()
    errors: list[str] = []

    def put(i: int) -> None:
        code, body = srv.request("PUT", f"/orders/L{i}", api_key, order(f"L{i}", status="processing"))
        statuses[code] += 1
        if code != 200:
            errors.append(str(body)[:200])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, range(ORDERS)))
    ingest_seconds = time.monotonic() - started
    assert statuses == {200: ORDERS}, errors[:5]
    assert not any("locked" in e for e in errors)

    deadline = time.monotonic() + 600
    order_mail = Message.objects.filter(priority=Priority.ORDER)
    while order_mail.exclude(status=Status.SENT).exists() and time.monotonic() < deadline:
        time.sleep(1)
    assert order_mail.exclude(status=Status.SENT).count() == 0
    assert order_mail.count() == ORDERS

    latencies = sorted(
        (m.sent_at - m.created_at).total_seconds() for m in order_mail.only("sent_at", "created_at")
    )
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    newsletter_sent = Message.objects.filter(priority=Priority.BULK, status=Status.SENT).count()
    received = Counter(m.message_id for m in smtp_server.messages)
    print(
        f"\nload: {ORDERS} orders via the API in {ingest_seconds:.1f} s ({ORDERS / ingest_seconds:.0f}/s); "
        f"order mail latency p50 {p50:.2f} s, p99 {p99:.2f} s; newsletter sent meanwhile: {newsletter_sent}"
    )
    assert max(received.values()) == 1  # deliveries = distinct Message-IDs
    order_ids = set(order_mail.values_list("message_id", flat=True))
    assert order_ids <= set(received)
