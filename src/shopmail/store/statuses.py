"""Status meanings in the store: the effective map and the statuses it does not map (SPEC 3).

An unmapped status is listed to staff (panel settings, ``GET /api/v1/settings``) with the orders
that carry it, until they map it. Nothing is stored for this: the list is read from the orders.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count, Max
from pydantic import BaseModel, ConfigDict, Field

from shopmail.domain import statuses
from shopmail.store.models import Order, StoreSettings
from shopmail.store.store_settings import Problem, Section

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


# The ``platform``, ``status_map`` and ``time_zone`` section of the store settings (``store_settings``).
MeaningName = Literal["pending", "on_hold", "failed", "processing", "completed", "cancelled", "refunded"]


class StatusSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Literal["generic", "woocommerce", "shopify", "magento", "prestashop"] | None = None
    status_map: (
        dict[
            Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\r\n\x00]*$")],
            MeaningName | None,
        ]
        | None
    ) = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] | None = None


def settings_view(settings: StoreSettings) -> dict[str, Any]:
    """``platform``, ``status_map`` (the store's own entries), the effective map and the
    statuses of stored orders that it does not map (SPEC section 3), and ``time_zone``."""
    return {
        "time_zone": settings.time_zone,
        "platform": settings.platform,
        "status_map": dict(settings.status_map),
        "status_meanings": effective_map(settings),
        "unmapped_statuses": unmapped(settings),
    }


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def settings_problems(settings: StoreSettings, part: StatusSettingsIn) -> list[Problem]:
    if part.time_zone is not None and not valid_time_zone(part.time_zone):
        return [{"loc": ["body", "time_zone"], "msg": "is not a time zone name, e.g. Europe/Oslo"}]
    return []


def apply_settings(settings: StoreSettings, part: StatusSettingsIn) -> None:
    if part.platform is not None:
        settings.platform = part.platform
    if part.time_zone is not None:
        settings.time_zone = part.time_zone
    if part.status_map is not None:  # entries are added or changed; a null removes one
        merged = {**settings.status_map, **part.status_map}
        settings.status_map = {status: meaning for status, meaning in merged.items() if meaning is not None}


SECTION = Section("statuses", StatusSettingsIn, settings_view, apply_settings, settings_problems)
