"""WooCommerce payloads (REST API v3 resources, the same objects its webhooks send) to shopmail's
snapshot of SPEC section 3. Plain functions: no Django, no I/O.

WooCommerce keeps its own status slugs (``pending``, ``processing``, ``on-hold``, ``completed``,
``cancelled``, ``refunded``, ``failed``, ...); the WooCommerce preset of the status map gives
each its meaning. Times are taken from the ``*_gmt`` fields (UTC). Tracking comes from the
Shipment Tracking extension's order meta ``_wc_shipment_tracking_items``; downloads from the
customer's downloads (``/customers/<id>/downloads``) when the caller has them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from shopmail.connectors.common import (
    Snapshot,
    address,
    amount,
    country,
    gmt,
    ident,
    optional_text,
    text,
    total,
    unix_time,
    url,
)

PLATFORM = "woocommerce"
TRACKING_META = "_wc_shipment_tracking_items"


def _meta(resource: Mapping[str, Any], key: str) -> Any:
    for entry in resource.get("meta_data") or ():
        if isinstance(entry, Mapping) and entry.get("key") == key:
            return entry.get("value")
    return None


def _time(resource: Mapping[str, Any], field: str) -> str | None:
    """``date_created`` and the like, from the UTC twin ``date_created_gmt``."""
    return gmt(resource.get(f"{field}_gmt")) or gmt(resource.get(field))


def customer(payload: Mapping[str, Any]) -> Snapshot:
    """A WooCommerce customer (``customer.*`` webhook body or ``GET /customers/<id>``).

    WooCommerce itself records no marketing consent, so ``newsletter_opt_in`` is left out.
    """
    billing = address(payload.get("billing"))
    data: Snapshot = {
        "id": ident(payload.get("id")),
        "email": text(payload.get("email") or billing.get("email"), 254),
        "first_name": text(payload.get("first_name") or billing.get("first_name")),
        "last_name": text(payload.get("last_name") or billing.get("last_name")),
    }
    optional = {
        "phone": optional_text(billing.get("phone")),
        "country": country(billing.get("country")),
        "created_at": _time(payload, "date_created"),
        "addresses": [a for a in (billing, address(payload.get("shipping"))) if a] or None,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def _order_customer(o: Mapping[str, Any]) -> Snapshot:
    billing = address(o.get("billing"))
    email = text(billing.get("email"), 254)
    customer_id = o.get("customer_id")
    key = ident(customer_id) if customer_id not in (None, 0, "0", "") else f"guest:{email.lower()}"[:64]
    data: Snapshot = {
        "id": key,
        "email": email,
        "first_name": text(billing.get("first_name")),
        "last_name": text(billing.get("last_name")),
    }
    if optional_text(billing.get("phone")):
        data["phone"] = optional_text(billing.get("phone"))
    if country(billing.get("country")):
        data["country"] = country(billing.get("country"))
    return data


def tracking_item(item: Mapping[str, Any], lines: list[Snapshot] | None = None) -> Snapshot:
    """One Shipment Tracking item as a shipment: the order meta form (``custom_tracking_link``,
    ``date_shipped`` as a Unix time) or the extension's REST form (``tracking_link``, a date)."""
    provider = text(item.get("custom_tracking_provider")) or text(item.get("tracking_provider"))
    number = text(item.get("tracking_number"))
    key = text(item.get("tracking_id"), 64)
    if not key:  # items saved by old versions have no id: one made from what identifies them
        key = hashlib.blake2b(f"{provider}\x00{number}".encode(), digest_size=8).hexdigest()
    return {
        "id": key,
        "carrier": provider or None,
        "tracking_number": number or None,
        "tracking_url": url(item.get("custom_tracking_link")) or url(item.get("tracking_link")),
        "shipped_at": unix_time(item.get("date_shipped")),
        "lines": [
            {"line_id": ln["id"], "quantity": ln["quantity"]}
            for ln in lines or ()
            if ln.get("kind", "physical") == "physical"
        ],
    }


def shipments(o: Mapping[str, Any], lines: list[Snapshot]) -> list[Snapshot]:
    """Shipment Tracking records parcels per order, not per line: the first tracking item is taken
    to carry every physical line, any later one is an extra parcel of the same order."""
    items = _meta(o, TRACKING_META)
    if not isinstance(items, list):
        return []
    result: list[Snapshot] = []
    for item in items:
        if isinstance(item, Mapping) and text(item.get("tracking_number")):
            shipment = tracking_item(item, lines if not result else None)
            if all(s["id"] != shipment["id"] for s in result):
                result.append(shipment)
    return result


def _downloads_by_product(order_id: str, downloads: Iterable[Mapping[str, Any]]) -> dict[str, Snapshot]:
    found: dict[str, Snapshot] = {}
    for d in downloads:
        if ident(d.get("order_id")) != order_id or not url(d.get("download_url")):
            continue
        product = ident(d.get("product_id"))
        found.setdefault(product, {"url": url(d.get("download_url"))})
    return found


def line(item: Mapping[str, Any], download: Snapshot | None = None) -> Snapshot:
    quantity = int(item.get("quantity") or 0)
    price = item.get("price")
    if price is None and quantity:
        price = Decimal(amount(item.get("subtotal"))) / quantity
    data: Snapshot = {
        "id": ident(item.get("id")),
        "sku": text(item.get("sku")),
        "name": text(item.get("name")) or "Item",
        "quantity": quantity,
        "unit_price": amount(price),
    }
    if download is not None:
        data["kind"] = "download"
        data["download"] = download
    return data


def refund(r: Mapping[str, Any]) -> Snapshot:
    """A refund: the order's short form (``{"id", "refund", "total": "-10.00"}``) or the refund
    resource (``{"id", "reason", "amount", "date_created_gmt"}``)."""
    value = r.get("amount") if r.get("amount") is not None else r.get("total")
    data: Snapshot = {"id": ident(r.get("id")), "amount": amount(value).lstrip("-")}
    created = _time(r, "date_created")
    if created:
        data["created_at"] = created
    reason = text(r.get("reason") if r.get("reason") is not None else r.get("refund"))
    if reason:
        data["reason"] = reason
    return data


def order(o: Mapping[str, Any], downloads: Iterable[Mapping[str, Any]] = ()) -> Snapshot:
    """A WooCommerce order (``order.*`` webhook body or ``GET /orders/<id>``) as a snapshot.

    ``downloads`` are the customer's downloads (``GET /customers/<id>/downloads``); a line whose
    product has one for this order becomes a download line with its link.
    """
    order_id = ident(o.get("id"))
    by_product = _downloads_by_product(order_id, downloads)
    lines = [line(item, by_product.get(ident(item.get("product_id")))) for item in o.get("line_items") or ()]
    created = _time(o, "date_created")
    status = text(o.get("status"), 64) or "pending"
    snapshot: Snapshot = {
        "id": order_id,
        "number": text(o.get("number")) or order_id,
        "created_at": created,
        "updated_at": _time(o, "date_modified") or created,
        "status": status,
        "status_label": status.replace("-", " ").capitalize(),
        "currency": text(o.get("currency"), 3) or "USD",
        "customer": _order_customer(o),
        "billing_address": address(o.get("billing")),
        "shipping_address": address(o.get("shipping")),
        "totals": {
            "subtotal": total(item.get("subtotal") for item in o.get("line_items") or ()),
            "shipping": amount(o.get("shipping_total")),
            "tax": amount(o.get("total_tax")),
            "total": amount(o.get("total")),
        },
        "lines": lines,
        "shipments": shipments(o, lines),
        "refunds": [refund(r) for r in o.get("refunds") or () if isinstance(r, Mapping)],
    }
    if text(o.get("customer_note"), 2000):
        snapshot["customer_note"] = text(o.get("customer_note"), 2000)
    return snapshot


def product(p: Mapping[str, Any]) -> Snapshot | None:
    """A WooCommerce product (``product.*`` webhook body); None without a SKU."""
    sku = text(p.get("sku"), 64)
    if not sku:
        return None
    stock = p.get("stock_quantity")
    if stock is None:  # stock not managed: in stock or not
        stock = 1 if p.get("stock_status", "instock") != "outofstock" else 0
    return {"sku": sku, "name": text(p.get("name")), "stock_quantity": int(stock)}
