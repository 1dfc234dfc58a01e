"""What became of a newsletter: its recipients' delivery counts, and how it is presented."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from shopmail.mail.models import Message, Status
from shopmail.newsletter import segments
from shopmail.newsletter.models import Consent, Newsletter, NewsletterStatus, Recipient
from shopmail.store.models import StoreSettings

COUNTS = ("queued", "sent", "deferred", "failed", "cancelled", "held", "unsubscribed", "skipped")


def delivery_counts(newsletter: Newsletter) -> dict[str, int]:
    """``queued`` counts messages waiting or being sent; ``unsubscribed``, recipients who left by
    this newsletter's link; ``skipped``, frozen recipients not sent to (they opted out first)."""
    counts = dict.fromkeys(COUNTS, 0)
    if newsletter.status == NewsletterStatus.DRAFT:
        return counts
    by_status = (
        Recipient.objects.filter(newsletter=newsletter, message__isnull=False)
        .values_list("message__status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status, number in by_status:
        key = "queued" if status in (Status.QUEUED, Status.SENDING) else str(status)
        counts[key] = counts.get(key, 0) + number
    counts["unsubscribed"] = Consent.objects.filter(newsletter=newsletter, subscribed=False).count()
    counts["skipped"] = Recipient.objects.filter(newsletter=newsletter).exclude(skipped="").count()
    return counts


def recipient_count(newsletter: Newsletter, settings: StoreSettings | None = None) -> int:
    """The frozen count once sending started; before that, the segment's live count."""
    if newsletter.status != NewsletterStatus.DRAFT:
        return newsletter.recipient_count
    settings = settings or StoreSettings.load()
    filters = newsletter.segment.filters if newsletter.segment else newsletter.filters
    try:
        return segments.count(segments.clean(filters), settings.default_language)
    except segments.SegmentError:
        return 0


def phase(newsletter: Newsletter, counts: dict[str, int]) -> str:
    """draft, sending (being queued), scheduled, delivering or sent, for people."""
    if newsletter.status == NewsletterStatus.DRAFT:
        return "draft"
    if newsletter.status == NewsletterStatus.SENDING:
        return "sending"
    if newsletter.scheduled_at and newsletter.scheduled_at > timezone.now() and counts["sent"] == 0:
        return "scheduled"
    return "delivering" if counts["queued"] or counts["deferred"] else "sent"


def as_json(newsletter: Newsletter, settings: StoreSettings | None = None) -> dict[str, Any]:
    counts = delivery_counts(newsletter)
    return {
        "id": newsletter.pk,
        "subject": newsletter.subject,
        "html": newsletter.html,
        "text": newsletter.text,
        "status": newsletter.status,
        "phase": phase(newsletter, counts),
        "segment": newsletter.segment.filters
        if newsletter.segment and newsletter.editable
        else newsletter.filters,
        "segment_name": newsletter.segment.name if newsletter.segment else None,
        "recipients": recipient_count(newsletter, settings),
        "scheduled_at": newsletter.scheduled_at.isoformat() if newsletter.scheduled_at else None,
        "rate_per_hour": newsletter.rate_per_hour,
        "created_at": newsletter.created_at.isoformat(),
        "send_started_at": newsletter.send_started_at.isoformat() if newsletter.send_started_at else None,
        "queued_at": newsletter.queued_at.isoformat() if newsletter.queued_at else None,
        "delivery": counts,
    }


RATE_WINDOW = dt.timedelta(minutes=5)  # the sending rate is what went out in the last five minutes


def _about(seconds: float) -> str:
    if seconds < 60:
        return gettext("less than a minute")
    minutes = round(seconds / 60)
    if minutes < 90:
        return gettext("about %(minutes)s min") % {"minutes": minutes}
    hours, rest = divmod(minutes, 60)
    if rest:
        return gettext("about %(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    return gettext("about %(hours)s h") % {"hours": hours}


def progress(newsletter: Newsletter) -> dict[str, Any]:
    """The delivery page's live numbers (issue 27), polled every few seconds: the counts, the
    share done, the rate over the last five minutes and the time left at that rate."""
    counts = delivery_counts(newsletter)
    now = timezone.now()
    current = phase(newsletter, counts)
    total = newsletter.recipient_count
    waiting = counts["queued"] + counts["deferred"]
    not_queued = max(0, total - sum(counts[key] for key in COUNTS if key != "unsubscribed"))
    recent = Message.objects.filter(
        newsletter_recipient__newsletter=newsletter, sent_at__gte=now - RATE_WINDOW
    ).count()
    per_minute = recent / (RATE_WINDOW.total_seconds() / 60)
    left = waiting + not_queued
    eta = left / per_minute * 60 if per_minute and left else None
    finished = max(0, total - left)
    return {
        "id": newsletter.pk,
        "phase": current,
        "done": current in ("sent", "draft"),
        "total": total,
        "finished": finished,
        "counts": counts,
        "rate_per_minute": round(per_minute, 1),
        "eta_seconds": round(eta) if eta is not None else None,
        "fields": {  # the page's words, element by element
            **{key: counts[key] for key in ("queued", "sent", "deferred", "failed", "unsubscribed")},
            "phase": pgettext("state", current),  # the words of panel_tags.STATE_WORDS
            "percent": f"{100 * finished // total if total else 100} %",
            "rate": gettext("%(n)s a minute") % {"n": f"{per_minute:.0f}"}
            if per_minute >= 1
            else (gettext("under 1 a minute") if recent else "—"),
            "eta": gettext("done")
            if not left
            else (_about(eta) if eta is not None else gettext("not known yet")),
        },
    }
