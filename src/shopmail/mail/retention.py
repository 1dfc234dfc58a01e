"""Retention: after ``SHOPMAIL_RETENTION_DAYS`` days (default 90) a finished message loses its body.

What goes: the rendered text and HTML, the stored bytes that were sent and the render context (the
order, addresses and links the body was made from). What stays: the message row (recipient,
notification, status, times, Message-ID, last error), its subject and every attempt with the
server's answer, so the log still says what was sent to whom and how it ended. Messages that may
still go out (queued, deferred, held, sending) are never touched. 0 days keeps everything.

The delivery worker (in ``shopmail serve`` or ``shopmail worker``) runs it at start and then hourly
through ``core.periodic``; ``shopmail prune`` runs it by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shopmail import config
from shopmail.mail.models import Payload, Status

log = logging.getLogger("shopmail.retention")

FINISHED = (Status.SENT, Status.FAILED, Status.CANCELLED, Status.BOUNCED)
PRUNED_CONTEXT = {"pruned": True}  # the marker a pruned payload's context holds
BATCH = 500


@dataclass(frozen=True)
class Pruned:
    messages: int
    cutoff: dt.datetime | None


ENV = "SHOPMAIL_RETENTION_DAYS"
DEFAULT_DAYS = 90


def retention_days() -> int:
    """``settings.RETENTION_DAYS`` if set, else ``SHOPMAIL_RETENTION_DAYS``, else 90; ValueError if bad."""
    value = getattr(settings, "RETENTION_DAYS", None)
    if value is None:
        value = config.retention_days_text() or DEFAULT_DAYS
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{ENV} must be a whole number of days (0 keeps all), not {value!r}") from None
    if days < 0:
        raise ValueError(f"{ENV} must be 0 or more, not {days}")
    return days


def is_pruned(payload: Payload) -> bool:
    return payload.context == PRUNED_CONTEXT


def due(days: int, now: dt.datetime | None = None):
    """The finished messages older than ``days`` whose body is still stored."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    return (
        Payload.objects.filter(message__status__in=FINISHED, message__created_at__lt=cutoff)
        .exclude(context=PRUNED_CONTEXT)
        .order_by("pk")
    )


def prune(days: int | None = None, *, now: dt.datetime | None = None, dry_run: bool = False) -> Pruned:
    """Drop the bodies of finished messages older than ``days`` (the setting by default)."""
    days = retention_days() if days is None else days
    if days <= 0:
        return Pruned(0, None)
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    if dry_run:
        return Pruned(due(days, now).count(), cutoff)
    total = 0
    while True:
        ids = list(due(days, now).values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        with transaction.atomic():
            total += Payload.objects.filter(pk__in=ids).update(
                text="", html="", raw=None, context=PRUNED_CONTEXT
            )
    if total:
        log.info("retention: dropped the bodies of %d messages older than %d days", total, days)
    return Pruned(total, cutoff)


EVERY = 3600.0  # seconds between two prunes in one worker process
_last_run: float | None = None


def periodic(now: float | None = None) -> bool:
    """The worker's job (core.periodic): prune at start and then hourly; True when it pruned.

    Several workers may prune at once: the update is the same for each, so nothing goes wrong.
    """
    global _last_run
    now = time.monotonic() if now is None else now
    if _last_run is not None and now - _last_run < EVERY:
        return False
    _last_run = now
    prune()
    return True
