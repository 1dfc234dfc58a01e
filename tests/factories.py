"""Builders of realistic order snapshots (plain dicts, as a shop sends them)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

BASE_TIME = dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.UTC)


def ts(minutes: int) -> str:
    return (BASE_TIME + dt.timedelta(minutes=minutes)).isoformat()


def order(
    order_id: str = "10023", *, status: str = "pending", minute: int = 0, **overrides: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": order_id,
        "number": order_id,
        "created_at": ts(0),
        "updated_at": ts(minute),
        "status": status,
        "status_label": status.title(),
        "currency": "EUR",
        "customer": {
            "id": f"c-{order_id}",
            "email": f"customer{order_id}@example.com",
            "first_name": "Ana",
            "last_name": "Silva",
            "language": "en",
        },
        "billing_address": {"name": "Ana Silva", "street": "Rua 1", "city": "Lisboa", "country": "PT"},
        "shipping_address": {"name": "Ana Silva", "street": "Rua 1", "city": "Lisboa", "country": "PT"},
        "totals": {"subtotal": "20.00", "shipping": "4.95", "tax": "5.24", "total": "30.19"},
        "expected_delivery_date": None,
        "delivery_note_printed": False,
        "picked": False,
        "lines": [
            {
                "id": "1",
                "sku": "MUG-01",
                "name": "Mug",
                "quantity": 2,
                "unit_price": "10.00",
                "delivered_quantity": 0,
                "backordered": False,
                "expected_delivery_date": None,
                "purchase_order_expected_date": None,
                "download": None,
            },
        ],
        "shipments": [],
    }
    data.update(overrides)
    return data


def evolve(snapshot: dict[str, Any], minute: int, **changes: Any) -> dict[str, Any]:
    """A later snapshot of the same order."""
    new = copy.deepcopy(snapshot)
    new.update(changes)
    new["updated_at"] = ts(minute)
    return new


def shipment(
    shipment_id: str, line_quantities: dict[str, int], tracking: str | None = "1Z999"
) -> dict[str, Any]:
    return {
        "id": shipment_id,
        "carrier": "UPS",
        "tracking_number": tracking,
        "tracking_url": f"https://track.example.com/{tracking}" if tracking else None,
        "shipped_at": ts(60),
        "drop_shipper": None,
        "lines": [{"line_id": line, "quantity": qty} for line, qty in line_quantities.items()],
    }
