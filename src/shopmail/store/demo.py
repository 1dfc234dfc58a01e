"""A believable demo store: products, a dozen customers and orders in every state."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

PRODUCTS = [
    ("MUG-01", "Stoneware mug", "12.50", 40),
    ("TEE-BLK-M", "Organic T-shirt, black, M", "24.00", 0),
    ("BAG-TOTE", "Canvas tote bag", "18.00", 12),
    ("CANDLE-FIG", "Fig & cedar candle", "29.00", 0),
    ("EBOOK-BREW", "The Home Brewing Guide (e-book)", "9.90", 9999),
    ("FONT-LIC", "Display font licence", "45.00", 9999),
]
CUSTOMERS = [
    ("Ana", "Silva", "en", "PT"),
    ("Lars", "Hansen", "nb", "NO"),
    ("Ingrid", "Berg", "nb", "NO"),
    ("Jonas", "Weber", "de", "DE"),
    ("Lena", "Fischer", "de", "DE"),
    ("Tom", "Baker", "en", "GB"),
    ("Maya", "Patel", "en", "GB"),
    ("Ole", "Nilsen", "nb", "NO"),
    ("Sofia", "Rossi", "en", "IT"),
    ("Emil", "Schmidt", "de", "AT"),
    ("Chloé", "Martin", "en", "FR"),
    ("Nora", "Johansen", "nb", "NO"),
]


def _customer(index: int, now: dt.datetime) -> dict[str, Any]:
    first, last, language, country = CUSTOMERS[index]
    ascii_first = first.replace("é", "e").lower()
    return {
        "id": f"demo-c{index + 1}",
        "email": f"{ascii_first}.{last.lower()}@example.com",
        "first_name": first,
        "last_name": last,
        "language": language,
        "country": country,
        "newsletter_opt_in": index % 3 != 0,
        "newsletter_opt_in_at": (now - dt.timedelta(days=100 - index)).isoformat() if index % 3 else None,
        "created_at": (now - dt.timedelta(days=200 - index * 7)).isoformat(),
    }


def _line(line_id: str, sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    name, price = next((p[1], p[2]) for p in PRODUCTS if p[0] == sku)
    line = {
        "id": line_id,
        "sku": sku,
        "name": name,
        "quantity": quantity,
        "unit_price": price,
        "delivered_quantity": 0,
        "backordered": False,
    }
    if sku == "EBOOK-BREW":
        line["download"] = {
            "url": "https://downloads.example.com/brewing-guide.pdf",
            "license_keys": [],
            "instructions": "Open the PDF on any device; the link works for 30 days.",
        }
    if sku == "FONT-LIC":
        line["download"] = {
            "url": "https://downloads.example.com/display-font.zip",
            "license_keys": ["FONT-7F3K-99QA-ZX21"],
            "instructions": "Install the OTF files and keep the licence key with your records.",
        }
    line.update(extra)
    return line


def _order(
    number: int,
    customer: dict[str, Any],
    status: str,
    lines: list[dict[str, Any]],
    created: dt.datetime,
    **extra: Any,
) -> dict[str, Any]:
    subtotal = sum(float(line["unit_price"]) * line["quantity"] for line in lines)
    shipping = 4.95
    tax = round(subtotal * 0.25, 2)
    address = {
        "name": f"{customer['first_name']} {customer['last_name']}",
        "street": f"Demo Street {number % 40}",
        "postcode": f"{1000 + number}",
        "city": "Oslo" if customer["country"] == "NO" else "Berlin",
        "country": customer["country"],
    }
    order = {
        "id": f"D{number}",
        "number": f"D{number}",
        "created_at": created.isoformat(),
        "updated_at": (created + dt.timedelta(minutes=5)).isoformat(),
        "status": status,
        "status_label": status.replace("_", " ").title(),
        "currency": "EUR",
        "customer": customer,
        "billing_address": address,
        "shipping_address": address,
        "totals": {
            "subtotal": f"{subtotal:.2f}",
            "shipping": f"{shipping:.2f}",
            "tax": f"{tax:.2f}",
            "total": f"{subtotal + shipping + tax:.2f}",
        },
        "expected_delivery_date": (created + dt.timedelta(days=5)).date().isoformat(),
        "delivery_note_printed": False,
        "picked": False,
        "lines": lines,
        "shipments": [],
    }
    order.update(extra)
    return order


def _shipment(
    shipment_id: str, lines: dict[str, int], when: dt.datetime, drop: str | None = None
) -> dict[str, Any]:
    tracking = f"1Z{abs(hash(shipment_id)) % 10**8:08d}"
    return {
        "id": shipment_id,
        "carrier": "UPS",
        "tracking_number": tracking,
        "tracking_url": f"https://www.ups.com/track?tracknum={tracking}",
        "shipped_at": when.isoformat(),
        "drop_shipper": drop,
        "lines": [{"line_id": k, "quantity": v} for k, v in lines.items()],
    }


def build(now: dt.datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The demo sync document: every order state the notifications know."""
    now = now or timezone.now()
    rng = random.Random(17)
    customers = [_customer(i, now) for i in range(len(CUSTOMERS))]
    products = [{"sku": sku, "name": name, "stock_quantity": stock} for sku, name, _, stock in PRODUCTS]
    when = [now - dt.timedelta(hours=48 - i * 3) for i in range(14)]
    orders = [
        _order(1001, customers[0], "pending", [_line("1", "MUG-01", 2)], when[0]),
        _order(
            1002, customers[1], "processing", [_line("1", "BAG-TOTE", 1), _line("2", "MUG-01", 1)], when[1]
        ),
        _order(
            1003,
            customers[2],
            "processing",
            [_line("1", "TEE-BLK-M", 1, backordered=True), _line("2", "MUG-01", 1)],
            when[2],
        ),
        _order(
            1004, customers[3], "completed", [_line("1", "EBOOK-BREW", 1), _line("2", "FONT-LIC", 1)], when[3]
        ),
        _order(
            1005,
            customers[4],
            "processing",
            [_line("1", "MUG-01", 2), _line("2", "BAG-TOTE", 1)],
            when[4],
            shipments=[_shipment("S1005-1", {"1": 2}, when[4] + dt.timedelta(hours=20))],
            picked=True,
        ),
        _order(
            1006,
            customers[5],
            "completed",
            [_line("1", "BAG-TOTE", 2)],
            when[5],
            shipments=[
                _shipment("S1006-1", {"1": 2}, when[5] + dt.timedelta(hours=20), drop="Tote Co. Direct")
            ],
        ),
        _order(1007, customers[6], "cancelled", [_line("1", "CANDLE-FIG", 1)], when[6]),
        _order(
            1008,
            customers[7],
            "invoiced",
            [_line("1", "CANDLE-FIG", 2, backordered=True)],
            when[7],
            delivery_note_printed=True,
        ),
        _order(1009, customers[8], "pending", [_line("1", "FONT-LIC", 1)], when[8]),
        _order(1010, customers[9], "processing", [_line("1", "MUG-01", rng.randint(1, 4))], when[9]),
        _order(1011, customers[10], "processing", [_line("1", "TEE-BLK-M", 2, backordered=True)], when[10]),
        _order(
            1012,
            customers[11],
            "processing",
            [_line("1", "BAG-TOTE", 1), _line("2", "EBOOK-BREW", 1)],
            when[11],
        ),
    ]
    return {"customers": customers, "products": products, "orders": orders}
