"""Issue 27: the dashboard's trends, from real rows (messages, attempts, bounce reports)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shopmail.mail.deliverability.models import BounceReport
from shopmail.mail.models import Attempt, Message, Status
from shopmail.panel import chart, trends


def _message(key: str, notification: str = "order_confirmed", **fields) -> Message:
    return Message.objects.create(key=key, notification=notification, to_email=f"{key}@example.com", **fields)


def test_failures_and_bounces_per_day(store):
    now = timezone.now()
    today = timezone.localtime(now).date()
    yesterday = now - dt.timedelta(days=1)
    failed = _message("f1", status=Status.FAILED, created_at=yesterday - dt.timedelta(hours=2))
    Attempt.objects.create(message=failed, at=yesterday, outcome="fail", code=550)
    _message("f2", status=Status.FAILED, created_at=now)  # never tried: counted on its creation day
    _message("q1", status=Status.QUEUED, created_at=now)  # not a failure
    for email in ("a@example.com", "b@example.com"):
        BounceReport.objects.create(kind="bounce", email=email, received_at=now)
    BounceReport.objects.create(kind="delay", email="c@example.com", received_at=now)  # not a bounce
    drawn = trends.failures_and_bounces(today)
    assert len(drawn.rows) == 30 and len(drawn.rects) == 60
    assert drawn.rows[-1].cells == ("1", "2")
    assert drawn.rows[-2].cells == ("1", "0")
    assert "2 failed and 2 bounced in 30 days" in trends.describe_problems(drawn)


def test_queue_depth_from_created_and_sent(store):
    now = timezone.now()
    _message(
        "sent",
        status=Status.SENT,
        created_at=now - dt.timedelta(hours=5),
        sent_at=now - dt.timedelta(hours=2, minutes=30),
    )
    _message("waiting", status=Status.DEFERRED, created_at=now - dt.timedelta(hours=3, minutes=30))
    gave_up = _message("gave-up", status=Status.FAILED, created_at=now - dt.timedelta(hours=1, minutes=30))
    Attempt.objects.create(message=gave_up, at=now - dt.timedelta(minutes=30), outcome="fail")
    _message(
        "old", status=Status.SENT, created_at=now - dt.timedelta(days=3), sent_at=now - dt.timedelta(days=3)
    )
    drawn = trends.queue_depth(now)
    depth = [int(row.cells[0]) for row in drawn.rows]
    assert len(depth) == 24
    # hour ends: ... now-5h: 1 (sent) | now-4h, now-3h: sent + ... deferred from now-3h30 ...
    assert depth[-6:] == [1, 1, 2, 1, 2, 1]
    assert depth[0] == 0 and drawn.maximum == 2


def test_confirmation_latency_percentiles(store):
    now = timezone.now()
    for index, wait in enumerate((10, 20, 30, 40, 100)):
        _message(f"c{index}", status=Status.SENT, created_at=now - dt.timedelta(seconds=wait), sent_at=now)
    original = Message.objects.get(key="c0")
    _message(
        "resend", status=Status.SENT, created_at=now - dt.timedelta(hours=5), sent_at=now, resend_of=original
    )
    _message(
        "staff",
        notification="admin_order_placed",
        status=Status.SENT,
        created_at=now - dt.timedelta(hours=9),
        sent_at=now,
    )
    drawn = trends.confirmation_latency(timezone.localtime(now).date())
    last = drawn.rows[-1]
    assert last.count == 5 and last.cells == ("30 s", "1 min 40 s")
    assert drawn.rows[-2].count == 0
    assert trends.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0 and trends.percentile([5.0], 95) == 5.0


def test_duration_words():
    assert [chart.duration(s) for s in (0.42, 12, 185, 7440)] == ["0.4 s", "12 s", "3 min 5 s", "2 h 4 min"]


def test_dashboard_shows_the_trends_with_tables(staff, placed):
    now = timezone.now()
    Message.objects.filter(notification="order_confirmed").update(status=Status.SENT, sent_at=now)
    BounceReport.objects.create(kind="bounce", email="x@example.com", received_at=now)
    page = staff.get("/admin/").content.decode()
    for part in (
        "h-problems",
        "h-depth",
        "h-latency",
        'id="problems-table"',
        'id="depth-table"',
        'id="latency-table"',
    ):
        assert part in page
    assert page.count('<rect class="bar bar-2" x=') == 30 + 30  # bounces and p95, one per day
    assert "1 failed" not in page and "0 failed and 1 bounced in 30 days" in page
    assert "half of 1 confirmations within" in page
