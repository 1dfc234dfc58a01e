"""``/metrics`` in the Prometheus text format: queue depth, totals and delivery latency.

Scrape it with the same bearer token as the API (Prometheus ``authorization`` config).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse

from shopmail.api.keys import check
from shopmail.mail.models import Attempt, Message, Status

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
    for section in _SECTIONS:
        lines += section()
    return "\n".join(lines) + "\n"


def metrics_view(request: HttpRequest) -> HttpResponse:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or check(auth.removeprefix("Bearer ").strip()) is None:
        return HttpResponse(
            "unauthorized\n", status=401, content_type="text/plain", headers={"WWW-Authenticate": "Bearer"}
        )
    return HttpResponse(render(), content_type="text/plain; version=0.0.4; charset=utf-8")
