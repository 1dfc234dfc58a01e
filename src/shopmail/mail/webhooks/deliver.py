"""Delivering feed events to the subscribed URLs (SPEC section 8).

``run()`` is the periodic job the delivery worker starts (``core.periodic``, at most every 30
seconds): it fans new feed events out into one ``Delivery`` per subscribed URL, then POSTs every
delivery that is due. A delivery not answered 2xx is tried again with the same ``webhook-id`` and
body, after ``BACKOFF`` (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h) until 3 days have
passed since the event; then it is ``failed``. Each attempt is signed afresh (its own
``webhook-timestamp``) as Standard Webhooks says, with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import orjson
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from shopmail.core import secretbox
from shopmail.mail.webhooks.models import Delivery, Endpoint
from shopmail.store.models import FeedEvent

log = logging.getLogger(__name__)
BACKOFF = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=12),
)
GIVE_UP_AFTER = dt.timedelta(days=3)
LEASE = dt.timedelta(minutes=2)  # a claimed delivery is not claimed again meanwhile
TIMEOUT = 10.0
BATCH = 200
USER_AGENT = "shopmail-webhooks/1"


def body_of(event: FeedEvent) -> str:
    return orjson.dumps({"type": event.type, "timestamp": event.at.isoformat(), "data": event.data}).decode()


def headers_for(delivery: Delivery, secret: str, now: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.webhook_id, now, delivery.body.encode()),
    }


def fan_out(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """One ``Delivery`` per subscribed URL for every feed event newer than its cursor."""
    made = 0
    now = now or timezone.now()
    for endpoint_id in Endpoint.objects.values_list("pk", flat=True):
        with transaction.atomic():
            endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id).first()
            if endpoint is None:
                continue
            events = list(FeedEvent.objects.filter(pk__gt=endpoint.cursor).order_by("pk")[:limit])
            if not events:
                continue
            new = [
                Delivery(
                    endpoint=endpoint,
                    event=event,
                    webhook_id=f"msg_{endpoint.pk}_{event.pk}",
                    event_type=event.type,
                    body=body_of(event),
                    created_at=event.at,
                    next_at=now,
                )
                for event in events
                if endpoint.wants(event.type)
            ]
            Delivery.objects.bulk_create(new, ignore_conflicts=True)
            endpoint.cursor = events[-1].pk
            endpoint.save(update_fields=["cursor"])
            made += len(new)
    return made


def _claim(now: dt.datetime) -> list[Delivery]:
    """Due deliveries, each leased to this caller (another worker skips it while it runs)."""
    due = list(
        Delivery.objects.filter(status=Delivery.PENDING, next_at__lte=now)
        .order_by("next_at", "pk")
        .values_list("pk", "next_at")[:BATCH]
    )
    claimed = []
    for pk, next_at in due:
        if Delivery.objects.filter(pk=pk, status=Delivery.PENDING, next_at=next_at).update(
            next_at=now + LEASE
        ):
            claimed.append(pk)
    return list(Delivery.objects.select_related("endpoint").filter(pk__in=claimed).order_by("pk"))


def attempt(delivery: Delivery, client: httpx.Client, now: dt.datetime | None = None) -> Delivery:
    """POST one delivery once and record the answer (and when to try again)."""
    now = now or timezone.now()
    status: int | None = None
    answer, error = "", ""
    try:
        secret = secretbox.unseal(delivery.endpoint.secret)
        response = client.post(
            delivery.endpoint.url, content=delivery.body.encode(), headers=headers_for(delivery, secret, now)
        )
        status, answer = response.status_code, response.text[:2000]
        if not 200 <= status < 300:
            error = f"answered {status}"
    except secretbox.SecretUnreadable as exc:
        error = f"the secret cannot be read: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    delivery.attempts += 1
    delivery.last_at = now
    delivery.response_status = status
    delivery.response_body = answer
    delivery.last_error = error
    delivery.log = [*delivery.log, {"at": now.isoformat(), "status": status, "error": error}][-50:]
    if not error:
        delivery.status = Delivery.DELIVERED
    else:
        wait = BACKOFF[min(delivery.attempts - 1, len(BACKOFF) - 1)]
        if now + wait - delivery.created_at > GIVE_UP_AFTER:
            delivery.status = Delivery.FAILED
        else:
            delivery.next_at = now + wait
    delivery.save()
    return delivery


def send_due(now: dt.datetime | None = None, client: httpx.Client | None = None) -> list[Delivery]:
    now = now or timezone.now()
    due = _claim(now)
    if not due:
        return []
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        return [attempt(delivery, client, now) for delivery in due]
    finally:
        if own:
            client.close()


def send_again(delivery: Delivery) -> Delivery:
    """The panel's "send again": one attempt now; a failed delivery gets another 3 days."""
    delivery.status = Delivery.PENDING
    if delivery.created_at < timezone.now() - GIVE_UP_AFTER:
        delivery.created_at = timezone.now()
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        return attempt(delivery, client)


def run(now: dt.datetime | None = None) -> dict[str, Any]:
    """The periodic job: fan out, then send what is due."""
    now = now or timezone.now()
    made = fan_out(now)
    sent = send_due(now)
    if made or sent:
        log.info("webhooks: %d new deliveries, %d attempts", made, len(sent))
    return {"new": made, "attempts": len(sent)}


def metrics() -> list[str]:
    """``/metrics`` lines: webhook deliveries out by state."""
    from django.db.models import Count

    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    lines = [
        "# HELP shopmail_webhooks_out Webhook deliveries to the shop's URLs, by state "
        "(pending: not answered 2xx yet, retried; failed: gave up after 3 days).",
        "# TYPE shopmail_webhooks_out gauge",
    ]
    for state in (Delivery.PENDING, Delivery.DELIVERED, Delivery.FAILED):
        lines.append(f'shopmail_webhooks_out{{status="{state}"}} {counts.get(state, 0)}')
    return lines
