"""The dashboard: the queue by status, mail sent per day, the latest failures, the transport."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Min
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from shopmail.mail.health import SEEN_WITHIN
from shopmail.mail.models import Attempt, Message, Status, WorkerBeat
from shopmail.panel import chart, trends
from shopmail.panel.access import staff_required
from shopmail.store.models import StoreSettings

STALE_QUEUE = dt.timedelta(minutes=5)
SHOWN_FOR = dt.timedelta(days=1)  # a worker that stopped is listed for a day


def transport_summary(transport: dict[str, Any]) -> list[tuple[str, str]]:
    """What the transport is, in words, without its secrets."""
    kind = str(transport.get("kind") or "capture")
    rows = [
        (
            _("Transport"),
            {"smtp": "SMTP", "sendmail": "sendmail", "capture": _("Local capture")}.get(kind, kind),
        )
    ]
    if kind == "smtp":
        port = transport.get("port", _("(default)"))
        rows.append((_("Server"), f"{transport.get('host', '?')}:{port}"))
        rows.append((_("Security"), str(transport.get("security") or "starttls")))
        if transport.get("username"):
            rows.append((_("Username"), str(transport["username"])))
            rows.append((_("Password"), _("set") if transport.get("password") else _("not set")))
    elif kind == "sendmail":
        rows.append((_("Program"), str(transport.get("path") or _("sendmail on PATH"))))
    else:
        rows.append(
            (_("Where"), _("written as .eml files to the data directory (nothing leaves this machine)"))
        )
    return rows


def worker_status() -> dict[str, Any]:
    """The delivery workers from their heartbeat rows (``WorkerBeat``), in whatever process or
    machine they run: alive (seen within 30 s), stopped, or silent (gone without stopping)."""
    now = timezone.now()
    last = Attempt.objects.order_by("-at").values("at", "outcome", "worker").first()
    oldest_due = Message.objects.filter(status=Status.QUEUED, due_at__lte=now).aggregate(at=Min("due_at"))[
        "at"
    ]
    workers: list[dict[str, Any]] = []
    for beat in WorkerBeat.objects.filter(seen_at__gte=now - SHOWN_FOR).order_by("-seen_at")[:20]:
        alive = beat.stopped_at is None and now - beat.seen_at <= SEEN_WITHIN
        workers.append(
            {
                "beat": beat,
                "state": "running" if alive else ("stopped" if beat.stopped_at else "silent"),
                "alive": alive,
            }
        )
    config_errors = [w["beat"].config_error for w in workers if w["alive"] and w["beat"].config_error]
    return {
        "workers": workers,
        "running": sum(1 for w in workers if w["alive"]),
        "config_error": config_errors[0] if config_errors else "",
        "last_attempt": last,
        "oldest_due": oldest_due,
        "stuck": oldest_due is not None and now - oldest_due > STALE_QUEUE,
    }


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime()
    today = now.date()
    start_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())
    queue = [(status, counts.get(status, 0)) for status in Status.values]
    since = start_today - dt.timedelta(days=29)
    per_day = {
        row["day"]: row["n"]
        for row in Message.objects.filter(sent_at__gte=since)
        .annotate(day=TruncDate("sent_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    }
    sent = chart.daily(per_day, today)
    failures = (
        Message.objects.filter(status__in=(Status.FAILED, Status.HELD))
        .select_related("order")
        .order_by("-created_at", "-id")[:10]
    )
    settings = StoreSettings.load()
    problems = trends.failures_and_bounces(today)
    depth = trends.queue_depth(timezone.now())
    latency = trends.confirmation_latency(today)
    return render(
        request,
        "panel/dashboard.html",
        {
            "problems": problems,
            "problems_desc": trends.describe_problems(problems),
            "depth": depth,
            "depth_desc": trends.describe_depth(depth),
            "latency": latency,
            "latency_desc": trends.describe_latency(latency),
            "queue": queue,
            "waiting": counts.get(Status.QUEUED, 0) + counts.get(Status.DEFERRED, 0),
            "sent_today": per_day.get(today, 0),
            "chart": sent,
            "failures": failures,
            "transport": transport_summary(settings.transport),
            "worker": worker_status(),
            "store": settings,
        },
    )
