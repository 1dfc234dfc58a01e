"""The feed back to the shop (``GET /api/v1/feed``): what happened on shopmail's side, in order."""

from __future__ import annotations

from typing import Any

from shopmail.store.models import FeedEvent

FEED_TYPES = (
    "customer.updated",
    "backorder.chosen",
    "rma.requested",
    "rma.decided",
    "newsletter.unsubscribed",
    "message.failed",
    "message.bounced",
    "customer.suppressed",
    "order.changed_by_staff",  # SPEC 7: a panel/API order action, with the new snapshot
    "shipment.created",  # by staff or a drop-shipper
)


def record(event_type: str, data: dict[str, Any]) -> FeedEvent:
    """Append an event (call it inside the transaction that made the change)."""
    if event_type not in FEED_TYPES:
        raise ValueError(f"unknown feed event type {event_type!r}")
    return FeedEvent.objects.create(type=event_type, data=data)


def page(after: int = 0, limit: int = 100) -> dict[str, Any]:
    events = list(FeedEvent.objects.filter(pk__gt=after).order_by("pk")[:limit])
    return {
        "items": [{"cursor": e.pk, "type": e.type, "at": e.at.isoformat(), "data": e.data} for e in events],
        "next": events[-1].pk if events else after,
    }
