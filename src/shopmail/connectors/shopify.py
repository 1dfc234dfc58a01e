"""Shopify payloads (REST Admin API resources, the same objects its webhooks send) to shopmail's
snapshot of SPEC section 3. Plain functions: no Django, no I/O.

Shopify orders have no single status: the snapshot's ``status`` is the slug
``domain.statuses.shopify_status`` derives from ``financial_status``, ``fulfillment_status`` and
``cancelled_at`` (SPEC section 3), which the Shopify preset of the status map gives a meaning;
the three fields are kept in the snapshot too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopmail.connectors.common import (
    Snapshot,
    address,
    amount,
    country,
    ident,
    language,
    later,
    optional_text,
    replace_shipment,
    text,
    total,
    url,
)
from shopmail.domain import statuses

PLATFORM = "shopify"
LABELS = {
    "cancelled": "Cancelled",
    "voided": "Payment voided",
    "refunded": "Refunded",
    "pending": "Payment pending",
    "authorized": "Payment authorized",
    "paid": "Paid",
    "partially_paid": "Partially paid",
    "partially_refunded": "Partially refunded",
    "fulfilled": "Fulfilled",
}
# A fulfillment in one of these states is a shipment; "pending"/"open" are not yet, and
# "cancelled"/"failure" take it away again (SPEC section 3).
SHIPPED = statuses.SHOPIFY_FULFILLMENT_SHIPPED


def unwrap(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The resource itself, from a webhook body (bare) or an API answer (``{"order": {...}}``)."""
    inner = payload.get(key)
    return inner if isinstance(inner, Mapping) else payload


def status(order: Mapping[str, Any]) -> str:
    return statuses.shopify_status(
        text(order.get("financial_status"), 64) or None,
        text(order.get("fulfillment_status"), 64) or None,
        order.get("cancelled_at"),
    )


def marketing_consent(customer: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(opted in, since when) from ``email_marketing_consent`` (older versions: ``accepts_marketing``)."""
    consent = customer.get("email_marketing_consent")
    if isinstance(consent, Mapping):
        subscribed = consent.get("state") == "subscribed"
        return subscribed, (consent.get("consent_updated_at") or None) if subscribed else None
    if "accepts_marketing" in customer:
        subscribed = bool(customer.get("accepts_marketing"))
        return subscribed, (customer.get("accepts_marketing_updated_at") or None) if subscribed else None
    return False, None


def customer(payload: Mapping[str, Any], *, locale: Any = None, fallback_email: Any = None) -> Snapshot:
    """A Shopify customer (webhook body, ``{"customer": ...}`` or the one inside an order)."""
    c = unwrap(payload, "customer")
    default = c.get("default_address") if isinstance(c.get("default_address"), Mapping) else None
    addresses = [a for a in c.get("addresses") or () if isinstance(a, Mapping)]
    if default is None:
        default = next((a for a in addresses if a.get("default")), addresses[0] if addresses else None)
    opted_in, opted_in_at = marketing_consent(c)
    data: Snapshot = {
        "id": ident(c.get("id")),
        "email": text(c.get("email") or fallback_email, 254),
        "first_name": text(c.get("first_name")),
        "last_name": text(c.get("last_name")),
        "newsletter_opt_in": opted_in,
    }
    optional = {
        "phone": optional_text(c.get("phone")),
        "language": language(locale),
        "country": country((default or {}).get("country_code")),
        "created_at": c.get("created_at") or None,
        "newsletter_opt_in_at": opted_in_at,
        "addresses": [dict(a) for a in addresses][:50] or None,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def _guest(order: Mapping[str, Any]) -> Snapshot:
    email = text(order.get("email") or order.get("contact_email"), 254)
    billing = address(order.get("billing_address"))
    data: Snapshot = {
        "id": f"guest:{email.lower()}"[:64],
        "email": email,
        "first_name": text(billing.get("first_name")),
        "last_name": text(billing.get("last_name")),
    }
    if language(order.get("customer_locale")):
        data["language"] = language(order.get("customer_locale"))
    return data


def line(item: Mapping[str, Any], delivered: int = 0) -> Snapshot:
    data: Snapshot = {
        "id": ident(item.get("id")),
        "sku": text(item.get("sku")),
        "name": text(item.get("name") or item.get("title")) or "Item",
        "quantity": int(item.get("quantity") or 0),
        "unit_price": amount(item.get("price")),
        "delivered_quantity": min(delivered, int(item.get("quantity") or 0)),
    }
    if item.get("gift_card"):
        data["kind"] = "service"
    elif item.get("requires_shipping") is False:
        data["kind"] = "download"  # a digital product: never still to ship
    return data


def shipment(fulfillment: Mapping[str, Any]) -> Snapshot | None:
    """A fulfillment as a shipment, or None when it is not (or no longer) one."""
    f = unwrap(fulfillment, "fulfillment")
    if f.get("status") not in SHIPPED:
        return None
    data: Snapshot = {
        "id": ident(f.get("id")),
        "carrier": optional_text(f.get("tracking_company")),
        "tracking_number": optional_text(f.get("tracking_number")),
        "tracking_url": url(f.get("tracking_url")),
        "shipped_at": f.get("created_at") or None,
        "lines": [
            {"line_id": ident(item.get("id")), "quantity": int(item.get("quantity") or 0)}
            for item in f.get("line_items") or ()
        ],
    }
    return data


def refund(payload: Mapping[str, Any]) -> Snapshot:
    """A refund: its amount is what the successful refund transactions paid back."""
    r = unwrap(payload, "refund")
    paid_back = [
        t.get("amount")
        for t in r.get("transactions") or ()
        if t.get("kind") == "refund" and t.get("status") in ("success", None)
    ]
    data: Snapshot = {
        "id": ident(r.get("id")),
        "amount": total(paid_back),
        "created_at": r.get("processed_at") or r.get("created_at"),
    }
    if text(r.get("note")):
        data["reason"] = text(r.get("note"))
    return data


def _shop_money(value: Any) -> Any:
    if isinstance(value, Mapping):
        return (value.get("shop_money") or {}).get("amount")
    return None


def order(payload: Mapping[str, Any]) -> Snapshot:
    """A Shopify order (an ``orders/*`` webhook body or ``{"order": ...}``) as a snapshot."""
    o = unwrap(payload, "order")
    shipments = [s for s in (shipment(f) for f in o.get("fulfillments") or ()) if s is not None]
    delivered: dict[str, int] = {}
    for s in shipments:
        for item in s["lines"]:
            delivered[item["line_id"]] = delivered.get(item["line_id"], 0) + item["quantity"]
    slug = status(o)
    raw_customer = o.get("customer")
    if isinstance(raw_customer, Mapping) and raw_customer.get("id") is not None:
        email = o.get("email") or o.get("contact_email")
        buyer = customer(raw_customer, locale=o.get("customer_locale"), fallback_email=email)
    else:
        buyer = _guest(o)
    snapshot: Snapshot = {
        "id": ident(o.get("id")),
        "number": text(o.get("name") or o.get("order_number") or o.get("id")),
        "created_at": o.get("created_at"),
        "updated_at": o.get("updated_at") or o.get("created_at"),
        "status": slug,
        "status_label": LABELS.get(slug, text(slug).replace("_", " ").capitalize()),
        "financial_status": o.get("financial_status"),
        "fulfillment_status": o.get("fulfillment_status"),
        "cancelled_at": o.get("cancelled_at"),
        "currency": text(o.get("currency"), 3) or "USD",
        "customer": buyer,
        "billing_address": address(o.get("billing_address")),
        "shipping_address": address(o.get("shipping_address")),
        "totals": {
            "subtotal": amount(o.get("subtotal_price")),
            "shipping": amount(_shop_money(o.get("total_shipping_price_set"))),
            "tax": amount(o.get("total_tax")),
            "total": amount(o.get("total_price")),
        },
        "lines": [line(item, delivered.get(ident(item.get("id")), 0)) for item in o.get("line_items") or ()],
        "shipments": shipments,
        "refunds": [refund(r) for r in o.get("refunds") or ()],
    }
    if o.get("cancel_reason"):
        snapshot["cancel_reason"] = text(o.get("cancel_reason"))
    return snapshot


def _redeliver(snapshot: Snapshot) -> Snapshot:
    """Delivered quantities recomputed from the shipments (after one was added or removed)."""
    delivered: dict[str, int] = {}
    for s in snapshot.get("shipments") or ():
        for item in s.get("lines") or ():
            delivered[item["line_id"]] = delivered.get(item["line_id"], 0) + int(item["quantity"])
    lines = [
        {**ln, "delivered_quantity": min(delivered.get(ln["id"], 0), int(ln.get("quantity") or 0))}
        for ln in snapshot.get("lines") or ()
    ]
    return {**snapshot, "lines": lines}


def apply_fulfillment(stored: Snapshot, payload: Mapping[str, Any]) -> Snapshot:
    """The stored snapshot with one fulfillment (a ``fulfillments/*`` webhook body) applied:
    added or updated when it is a shipment, removed when cancelled or failed."""
    f = unwrap(payload, "fulfillment")
    merged = replace_shipment(stored, ident(f.get("id")), shipment(f))
    merged["updated_at"] = later(stored["updated_at"], f.get("updated_at"))
    return _redeliver(merged)


def apply_refund(stored: Snapshot, payload: Mapping[str, Any]) -> Snapshot:
    """The stored snapshot with one refund (a ``refunds/create`` webhook body) added."""
    r = refund(payload)
    refunds = [x for x in stored.get("refunds") or () if x.get("id") != r["id"]] + [r]
    merged = {**stored, "refunds": refunds}
    merged["updated_at"] = later(stored["updated_at"], r.get("created_at"))
    return merged


def products(payload: Mapping[str, Any]) -> list[Snapshot]:
    """A Shopify product (``products/create``/``products/update``) as one product per variant SKU,
    with the variant's ``inventory_quantity`` as stock."""
    p = unwrap(payload, "product")
    result = []
    for variant in p.get("variants") or ():
        sku = text(variant.get("sku"), 64)
        if not sku:
            continue
        title = text(p.get("title"))
        variant_title = text(variant.get("title"))
        name = f"{title} - {variant_title}" if variant_title and variant_title != "Default Title" else title
        stock = int(variant.get("inventory_quantity") or 0)
        result.append({"sku": sku, "name": name, "stock_quantity": stock})
    return result
