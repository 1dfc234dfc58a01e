"""Status meanings in the store: the effective map and the statuses it does not map (SPEC 3).

An unmapped status is listed to staff (panel settings, ``GET /api/v1/settings``) with the orders
that carry it, until they map it. Nothing is stored for this: the list is read from the orders.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max

from shopmail.domain import statuses
from shopmail.store.models import Order, StoreSettings

ORDERS_SHOWN = 20  # order ids listed per unmapped status (the newest); ``count`` has them all


def effective_map(settings: StoreSettings) -> dict[str, str]:
    """The preset of the store's platform with its own ``status_map`` entries over it."""
    return statuses.status_map(settings.platform, settings.status_map)


def unmapped(settings: StoreSettings) -> list[dict[str, Any]]:
    """``[{"status", "count", "orders": [id, ...], "last_seen"}]`` for every status of a stored
    order that has no meaning, the most used first."""
    meaning = settings.meaning()
    rows = Order.objects.values("status").annotate(count=Count("id"), last_seen=Max("updated_at"))
    found = [row for row in rows if meaning(row["status"]) is None]
    found.sort(key=lambda row: (-row["count"], row["status"]))
    out = []
    for row in found:
        ids = list(
            Order.objects.filter(status=row["status"])
            .order_by("-updated_at", "-id")
            .values_list("external_id", flat=True)[:ORDERS_SHOWN]
        )
        out.append(
            {
                "status": row["status"],
                "count": row["count"],
                "orders": ids,
                "last_seen": row["last_seen"].isoformat() if row["last_seen"] else None,
            }
        )
    return out
