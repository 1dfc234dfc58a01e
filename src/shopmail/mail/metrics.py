"""``/metrics`` in the Prometheus text format: queue depth, totals and delivery latency.

Scrape it with the same bearer token as the API (Prometheus ``authorization`` config).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from shopmail.mail.health import SEEN_WITHIN, due_filter, live_workers
from shopmail.mail.models import Attempt, Message, Status, WorkerBeat

BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)
_SECTIONS: list[Callable[[], list[str]]] = []


def register(section: Callable[[], list[str]]) -> None:
    """Add the lines of another part (e.g. the shop connectors' webhook counts) to ``/metrics``;
    called from that app's ``AppConfig.ready()``, so mail never imports it."""
    if section not in _SECTIONS:
        _SECTIONS.append(section)


def render() -> str:
    lines = ["# HELP shopmail_messages Messages in the outbox by status.", "# TYPE shopmail_messages gauge"]
    counts = dict(Message.objects.values_list("status").annotate(n=Count("id")))
    lines += [f'shopmail_messages{{status="{status}"}} {counts.get(status, 0)}' for status in Status.values]

    attempts = dict(Attempt.objects.values_list("outcome").annotate(n=Count("id")))
    lines += [
        "# HELP shopmail_delivery_attempts_total Delivery attempts by outcome (sent, defer, fail).",
        "# TYPE shopmail_delivery_attempts_total counter",
    ]
    lines += [
        f'shopmail_delivery_attempts_total{{outcome="{o}"}} {attempts.get(o, 0)}'
        for o in ("sent", "defer", "fail")
    ]

    latency = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
    buckets = {
        f"le{i}": Count("id", filter=Q(sent_at__lte=F("created_at") + dt.timedelta(seconds=bound)))
        for i, bound in enumerate(BUCKETS)
    }
    agg = Message.objects.filter(status=Status.SENT).aggregate(
        total=Count("id"), seconds=Sum(latency), **buckets
    )
    lines += [
        "# HELP shopmail_delivery_latency_seconds Time from queueing to acceptance by the server.",
        "# TYPE shopmail_delivery_latency_seconds histogram",
    ]
    lines += [
        f'shopmail_delivery_latency_seconds_bucket{{le="{b}"}} {agg[f"le{i}"]}' for i, b in enumerate(BUCKETS)
    ]
    total_seconds = agg["seconds"].total_seconds() if agg["seconds"] else 0.0
    lines += [
        f'shopmail_delivery_latency_seconds_bucket{{le="+Inf"}} {agg["total"]}',
        f"shopmail_delivery_latency_seconds_sum {total_seconds:.3f}",
        f"shopmail_delivery_latency_seconds_count {agg['total']}",
    ]
    lines += _workers()
    for section in _SECTIONS:
        lines += section()
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _workers() -> list[str]:
    """From the heartbeat rows (``WorkerBeat``): workers seen, due mail, each live worker's counts."""
    now = timezone.now()
    live = live_workers(now)
    lines = [
        f"# HELP shopmail_workers_seen Delivery workers seen within {int(SEEN_WITHIN.total_seconds())} s.",
        "# TYPE shopmail_workers_seen gauge",
        f"shopmail_workers_seen {len(live)}",
        "# HELP shopmail_messages_due Messages due now (queued or deferred and due, or a lease run out).",
        "# TYPE shopmail_messages_due gauge",
        f"shopmail_messages_due {Message.objects.filter(due_filter(now)).count()}",
        "# HELP shopmail_worker_messages_total Messages by outcome per live worker since it started.",
        "# TYPE shopmail_worker_messages_total counter",
    ]
    for beat in live:
        for outcome in ("sent", "deferred", "failed", "held"):
            lines.append(
                f'shopmail_worker_messages_total{{worker="{_label(beat.worker_id)}",outcome="{outcome}"}}'
                f" {getattr(beat, outcome)}"
            )
    lines += [
        "# HELP shopmail_worker_last_seen_seconds Seconds since each worker's last heartbeat (last day).",
        "# TYPE shopmail_worker_last_seen_seconds gauge",
    ]
    for beat in WorkerBeat.objects.filter(seen_at__gte=now - dt.timedelta(days=1), stopped_at__isnull=True):
        lines.append(
            f'shopmail_worker_last_seen_seconds{{worker="{_label(beat.worker_id)}"}}'
            f" {(now - beat.seen_at).total_seconds():.1f}"
        )
    return lines
