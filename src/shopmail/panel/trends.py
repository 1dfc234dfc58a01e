"""The dashboard's trends (issue 27): failures and bounces per day, the queue over the last
24 hours, and how long customers waited for their order confirmation.

All derived from rows that exist anyway, nothing sampled:

* a failure is a message whose status is ``failed``, counted on the day of its last attempt;
  a bounce is a ``BounceReport`` of kind ``bounce``, on the day it was received;
* the queue at an hour's end is every message created by then and not finished by then, where
  a sent (or later bounced) message finished at ``sent_at``, a failed, held or cancelled one at
  its last attempt (one never tried had no place in the queue), and one still queued, sending
  or deferred has not finished. So a retried message counts as waiting between its tries, as it
  was; a message scheduled for later counts from its creation;
* the wait for a confirmation is ``order_confirmed``'s ``created_at`` (written in the same
  transaction as the ingest of the order) to ``sent_at`` (the server accepted it), resends left
  out; p50 and p95 per day of sending, by the nearest-rank method.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from shopmail.mail.deliverability.models import BounceReport
from shopmail.mail.models import Attempt, Message, Status
from shopmail.panel.chart import Grouped, Slot, grouped

WAITING = (Status.QUEUED, Status.SENDING, Status.DEFERRED)
ENDED_BY_ATTEMPT = (Status.FAILED, Status.HELD, Status.CANCELLED)
LOOKBACK = dt.timedelta(days=7)  # a message created longer ago and waiting in the window is still found


def _last_attempt() -> Subquery:
    return Subquery(Attempt.objects.filter(message=OuterRef("pk")).order_by("-at").values("at")[:1])


def _days(today: dt.date, days: int) -> list[dt.date]:
    return [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _axis_label(index: int, count: int, day: dt.date) -> str:
    return dateformat.format(day, "d M") if (count - 1 - index) % 7 == 0 else ""


def failures_and_bounces(today: dt.date, days: int = 30) -> Grouped:
    start = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time()))
    failed: dict[dt.date, int] = defaultdict(int)
    rows = (
        Message.objects.filter(status=Status.FAILED, created_at__gte=start - LOOKBACK)
        .annotate(last=_last_attempt())
        .values_list("last", "created_at")
    )
    for last, created in rows:
        at = last or created
        if at >= start:
            failed[timezone.localtime(at).date()] += 1
    bounced = {
        row["day"]: row["n"]
        for row in BounceReport.objects.filter(kind="bounce", received_at__gte=start)
        .annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    }
    dates = _days(today, days)
    slots = [
        Slot(
            row=dateformat.format(day, "D d M"),
            axis=_axis_label(index, days, day),
            values=(failed.get(day, 0), bounced.get(day, 0)),
        )
        for index, day in enumerate(dates)
    ]
    return grouped(slots, (_("failed"), _("bounced")))


def queue_depth(now: dt.datetime, hours: int = 24) -> Grouped:
    """The messages waiting at the end of each of the last ``hours`` hours (the last point is now)."""
    points = [now - dt.timedelta(hours=hours - 1 - index) for index in range(hours)]
    window_start = points[0]
    candidates = (
        Message.objects.filter(created_at__lte=now)
        .filter(
            Q(status__in=WAITING)
            | Q(sent_at__gt=window_start)
            | Q(status__in=ENDED_BY_ATTEMPT, created_at__gte=window_start - LOOKBACK)
        )
        .annotate(last=_last_attempt())
    )
    counts = candidates.aggregate(
        **{
            f"p{index}": Count(
                "id",
                filter=Q(created_at__lte=point)
                & (
                    Q(status__in=WAITING)
                    | Q(status__in=(Status.SENT, Status.BOUNCED), sent_at__gt=point)
                    | Q(status__in=ENDED_BY_ATTEMPT, last__gt=point)
                ),
            )
            for index, point in enumerate(points)
        }
    )
    slots = []
    for index, point in enumerate(points):
        local = timezone.localtime(point)
        slots.append(
            Slot(
                row=dateformat.format(local, "D H:i"),
                axis=f"{local:%H:%M}" if (hours - 1 - index) % 6 == 0 else "",
                values=(int(counts[f"p{index}"] or 0),),
            )
        )
    return grouped(slots, (_("waiting"),))


def percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest rank: the smallest value with at least ``percent`` % of the values at or below it."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _waits(rows: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> dict[dt.date, list[float]]:
    by_day: dict[dt.date, list[float]] = defaultdict(list)
    for created, sent in rows:
        if sent is None:
            continue
        by_day[timezone.localtime(sent).date()].append(max(0.0, (sent - created).total_seconds()))
    return by_day


def confirmation_latency(today: dt.date, days: int = 30) -> Grouped:
    start = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time()))
    rows = Message.objects.filter(
        notification="order_confirmed", sent_at__gte=start, resend_of__isnull=True
    ).values_list("created_at", "sent_at")
    by_day = _waits(rows)
    dates = _days(today, days)
    slots = []
    for index, day in enumerate(dates):
        waits = sorted(by_day.get(day, []))
        slots.append(
            Slot(
                row=dateformat.format(day, "D d M"),
                axis=_axis_label(index, days, day),
                values=(percentile(waits, 50), percentile(waits, 95)) if waits else (0, 0),
                count=len(waits),
            )
        )
    return grouped(slots, ("p50", "p95"), seconds=True)


def describe_problems(chart: Grouped) -> str:
    failed = sum(1 for row in chart.rows if row.cells[0] != "0")
    totals = [sum(float(row.cells[n]) for row in chart.rows) for n in range(2)]
    return _("%(failed)s failed and %(bounced)s bounced in 30 days; failures on %(days)s of the days.") % {
        "failed": int(totals[0]),
        "bounced": int(totals[1]),
        "days": failed,
    }


def describe_depth(chart: Grouped) -> str:
    now = chart.rows[-1].cells[0] if chart.rows else "0"
    return _("%(now)s waiting now; at most %(most)s at the end of an hour in the last 24 hours.") % {
        "now": now,
        "most": int(chart.maximum),
    }


def describe_latency(chart: Grouped) -> str:
    days = [row for row in chart.rows if row.count]
    if not days:
        return _("No order confirmation was sent in the last 30 days.")
    last = days[-1]
    return _("On %(day)s: half of %(count)s confirmations within %(p50)s, 95 %% within %(p95)s.") % {
        "day": last.label,
        "count": last.count,
        "p50": last.cells[0],
        "p95": last.cells[1],
    }
