"""``/healthz`` (SPEC section 7): is this web process, its database and mail delivery working?

* 200 ``{"status": "ok", ...}`` when the database answers and, while mail is due, a delivery
  worker has been seen (its heartbeat row, ``WorkerBeat``) within the last 30 seconds;
* 503 ``{"status": "unhealthy", "reasons": [...]}`` otherwise, each reason in words;
* ``/healthz?live=1`` is liveness alone: 200 while the process answers, database or not.

The workers may run in other processes or on other machines: what they are doing is read from
the database, never from a module global (DESIGN "Layers").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from django.db import Error as DatabaseError
from django.db import connection
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from shopmail.mail.models import Message, Status, WorkerBeat

SEEN_WITHIN = dt.timedelta(seconds=30)  # a worker not seen for longer is not counted as working
DUE_GRACE = dt.timedelta(seconds=5)  # mail due for less than this does not need a worker yet


def due_filter(now: dt.datetime) -> Q:
    """Mail a worker should be busy with: queued or deferred and due, or a lease run out."""
    due = now - DUE_GRACE
    return Q(status__in=(Status.QUEUED, Status.DEFERRED), due_at__lte=due) | Q(
        status=Status.SENDING, claimed_until__lt=due
    )


def live_workers(now: dt.datetime) -> list[WorkerBeat]:
    return list(WorkerBeat.objects.filter(stopped_at__isnull=True, seen_at__gte=now - SEEN_WITHIN))


def check() -> tuple[list[str], dict[str, Any]]:
    """(reasons it is unhealthy, facts); no reasons means healthy."""
    reasons: list[str] = []
    facts: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        now = timezone.now()
        workers = live_workers(now)
        due = Message.objects.filter(due_filter(now)).count()
    except DatabaseError as exc:
        return [f"database: {type(exc).__name__}: {str(exc).strip()[:300]}"], facts
    facts.update(due=due, workers=len(workers))
    if due and not workers:
        seen = WorkerBeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
        since = f"last seen {seen:%Y-%m-%d %H:%M:%S} UTC" if seen else "none ever seen"
        reasons.append(
            f"{due} message(s) due and no delivery worker seen within {int(SEEN_WITHIN.total_seconds())} s"
            f" ({since})"
        )
    for beat in workers:
        if beat.config_error:
            facts.setdefault("config_errors", []).append(f"{beat.worker_id}: {beat.config_error[:300]}")
    return reasons, facts


def healthz(request: HttpRequest) -> HttpResponse:
    if request.GET.get("live"):
        return _json({"status": "ok"}, 200)
    reasons, facts = check()
    if reasons:
        response = _json({"status": "unhealthy", "reasons": reasons, **facts}, 503)
        response["Retry-After"] = "10"
        return response
    return _json({"status": "ok", **facts}, 200)


def _json(body: dict[str, Any], status: int) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
