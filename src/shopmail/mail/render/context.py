"""``build_context``: the plain, formatted data a template sees, shaped as SPEC section 6 and
docs/templates.md, from an order snapshot, a customer, the store settings and a
notification's extra variables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import css_inline
import inscriptis
from markupsafe import Markup, escape

from shopmail.domain.changes import MILESTONES, NOT_SHIPPED_KINDS, effective_date, shipped_quantities
from shopmail.mail.notifications import Notification
from shopmail.mail.notifications import get as get_notification
from shopmail.mail.render.changes import describe_change
from shopmail.mail.render.formatting import (
    _address,
    _brand_color,
    _date,
    _int,
    _language,
    _money,
    _str,
    _to_date,
    _url,
)
from shopmail.mail.render.inlining import _inliners
from shopmail.mail.render.sources import _stylesheet


def _download(download: Any, instructions: str) -> dict[str, Any] | None:
    raw = download if isinstance(download, Mapping) else {}
    keys = raw.get("license_keys") or []
    out = {
        "url": _url(raw.get("url")),
        "license_keys": [_str(key) for key in keys] if isinstance(keys, list | tuple) else [_str(keys)],
        # the product's instructions, then the line's own (SPEC 4, order_confirmed)
        "instructions": "\n\n".join(
            dict.fromkeys(t for t in (instructions.strip(), _str(raw.get("instructions")).strip()) if t)
        ),
    }
    return out if (download or instructions) else None


def _order_lines(
    order: Mapping[str, Any], language: str, instructions: Mapping[str, Any]
) -> list[dict[str, Any]]:
    currency = _str(order.get("currency"))
    shipped = shipped_quantities(order)
    out = []
    for line in order.get("lines") or ():
        line_id, sku = _str(line.get("id")), _str(line.get("sku"))
        quantity = _int(line.get("quantity"))
        try:
            total: Any = Decimal(_str(line.get("unit_price"))) * quantity
        except InvalidOperation:
            total = ""
        out.append(
            {
                "id": line_id,
                "name": _str(line.get("name")) or sku,
                "sku": sku,
                "quantity": quantity,
                "unit_price": _money(line.get("unit_price"), currency, language),
                "line_total": _money(total, currency, language),
                "delivered_quantity": _int(line.get("delivered_quantity")),
                "shipped_quantity": shipped.get(line.get("id"), 0),
                "backordered": bool(line.get("backordered")),
                "kind": _str(line.get("kind")) or "physical",
                "expected_delivery_date": _date(effective_date(line, order), language),
                "download": _download(line.get("download"), _str(instructions.get(sku))),
            }
        )
    return out


def _shipment(
    shipment: Mapping[str, Any], lines: Mapping[str, dict[str, Any]], language: str
) -> dict[str, Any]:
    items = []
    for item in shipment.get("lines") or ():
        line = lines.get(_str(item.get("line_id"))) or {}
        items.append(
            {
                "line_id": _str(item.get("line_id")),
                "name": line.get("name", ""),
                "sku": line.get("sku", ""),
                "quantity": _int(item.get("quantity")),
            }
        )
    return {
        "id": _str(shipment.get("id")),
        "carrier": _str(shipment.get("carrier")),
        "tracking_number": _str(shipment.get("tracking_number")),
        "tracking_url": _url(shipment.get("tracking_url")),
        "shipped_at": _date(shipment.get("shipped_at"), language),
        "drop_shipper": _str(shipment.get("drop_shipper")),
        "lines": items,
    }


def _order(
    order: Mapping[str, Any], language: str, instructions: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    currency = _str(order.get("currency"))
    lines = _order_lines(order, language, instructions)
    by_id = {line["id"]: line for line in lines}
    totals = order.get("totals") if isinstance(order.get("totals"), Mapping) else {}
    status = _str(order.get("status"))
    context = {
        "id": _str(order.get("id")),
        "number": _str(order.get("number") or order.get("id")),
        "date": _date(order.get("created_at"), language),
        "status": status,
        "status_label": _str(order.get("status_label")) or status.replace("_", " ").capitalize(),
        "currency": currency,
        "expected_delivery_date": _date(order.get("expected_delivery_date"), language),
        "lines": lines,
        "totals": {
            **{key: _money(value, currency, language) for key, value in (totals or {}).items()},
            **{
                key: _money((totals or {}).get(key), currency, language)
                for key in ("subtotal", "shipping", "tax", "total")
            },
        },
        "shipments": [_shipment(s, by_id, language) for s in order.get("shipments") or ()],
        "shipping_address": _address(order.get("shipping_address"), language),
        "billing_address": _address(order.get("billing_address"), language),
    }
    return context, by_id


def _customer(customer: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = customer or {}
    first, last = _str(raw.get("first_name")).strip(), _str(raw.get("last_name")).strip()
    return {
        "full_name": " ".join(part for part in (first, last) if part) or _str(raw.get("name")).strip(),
        "first_name": first,
        "last_name": last,
        "email": _str(raw.get("email")),
        "phone": _str(raw.get("phone")),
        "country": _str(raw.get("country")),
        "language": _str(raw.get("language")),
    }


def _rma(value: Any, lines: Mapping[str, dict[str, Any]], language: str) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    items = []
    for item in raw.get("lines") or ():
        line = lines.get(_str(item.get("line_id"))) or {}
        items.append(
            {
                "line_id": _str(item.get("line_id")),
                "name": _str(item.get("name")) or line.get("name", ""),
                "sku": _str(item.get("sku")) or line.get("sku", ""),
                "quantity": _int(item.get("quantity")),
            }
        )
    return {
        "id": _str(raw.get("id")),
        "number": _str(raw.get("number") or raw.get("id")),
        "status": _str(raw.get("status")),
        "reason": _str(raw.get("reason")),
        "comment": _str(raw.get("comment")),
        "requested_at": _date(raw.get("requested_at"), language),
        "lines": items,
    }


def _message(value: Any, language: str) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    return {
        "author": _str(raw.get("author") or raw.get("name")),
        "name": _str(raw.get("name") or raw.get("author")),
        "email": _str(raw.get("email")),
        "subject": _str(raw.get("subject")),
        "body": _str(raw.get("body") or raw.get("message")),
        "order_number": _str(raw.get("order_number") or raw.get("order")),
        "date": _date(raw.get("date") or raw.get("created_at"), language),
    }


def _thread(value: Any) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    return {
        "id": _str(raw.get("id")),
        "subject": _str(raw.get("subject")),
        "url": _url(raw.get("url")),
        "order_number": _str(raw.get("order_number") or raw.get("order")),
    }


def _affiliate(value: Any) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    known = ("name", "email", "website")
    return {
        **{key: _str(raw.get(key)) for key in known},
        "details": [
            {"label": key.replace("_", " ").capitalize(), "value": _str(item)}
            for key, item in raw.items()
            if key not in known and item not in (None, "") and not isinstance(item, Mapping | list)
        ],
    }


@lru_cache(maxsize=32)
def _inline_fragment(html: str) -> str:
    try:
        return _inliners()[1].inline_fragment(html, _stylesheet())
    except (css_inline.InlineError, ValueError):
        return html


@lru_cache(maxsize=32)
def _html_text(html: str) -> str:
    return inscriptis.get_text(html).strip()


def _newsletter(value: Any) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    html, text = _str(raw.get("html")), _str(raw.get("text"))
    if html and not text:
        text = _html_text(html)
    if text and not html:
        html = "".join(f"<p>{escape(p).replace(chr(10), Markup('<br>'))}</p>" for p in text.split("\n\n"))
    return {"subject": _str(raw.get("subject")), "html": _inline_fragment(html) if html else "", "text": text}


def _remaining(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": line["id"],
            "name": line["name"],
            "sku": line["sku"],
            "quantity": line["quantity"] - line["shipped_quantity"],
            "expected_delivery_date": line["expected_delivery_date"],
            "backordered": line["backordered"],
        }
        for line in lines
        if line["quantity"] > line["shipped_quantity"] and line["kind"] not in NOT_SHIPPED_KINDS
    ]


def _change(
    change: Mapping[str, Any], language: str, order: Mapping[str, Any] | None, lines: Mapping[str, Any]
) -> dict[str, Any]:
    rule = _str(change.get("rule"))
    before, after = change.get("before"), change.get("after")
    if rule == "expected_delivery_date_changed":
        before, after = _date(before, language), _date(after, language)
    return {
        "rule": rule,
        "description": describe_change(change, language, order),
        "before": "" if before is None else before,
        "after": "" if after is None else after,
        "line": lines.get(_str(change.get("line"))) if change.get("line") is not None else None,
    }


def _extra(
    name: str,
    extras: Mapping[str, Any],
    language: str,
    lines: Mapping[str, dict[str, Any]],
    order_lines: list[Any],
) -> Any:
    value = extras.get(name)
    if name in ("reset_url", "invite_url", "unsubscribe_url", "admin_url"):
        return _url(value)
    if name == "backorder_choice_urls":
        raw = value if isinstance(value, Mapping) else {}
        return {key: _url(raw.get(key)) for key in ("one_shipment", "split_shipments")}
    if name == "remaining":
        return _remaining(order_lines)
    if name == "rma":
        return _rma(value, lines, language)
    if name == "thread":
        return _thread(value)
    if name == "message":
        return _message(value, language)
    if name == "affiliate":
        return _affiliate(value)
    if name == "newsletter":
        return _newsletter(value)
    if name == "refund":  # order_refunded: without one, the whole order
        raw = value if isinstance(value, Mapping) else {}
        return {
            "id": _str(raw.get("id")),
            "amount": _str(raw.get("amount")),
            "reason": _str(raw.get("reason")),
            "full": bool(raw.get("full", not raw)),
        }
    return value


def build_context(
    notification: str,
    *,
    language: str,
    store: Mapping[str, Any],
    order: Mapping[str, Any] | None,
    customer: Mapping[str, Any] | None,
    changes: Sequence[Mapping[str, Any]] = (),
    shipment_id: str | None = None,
    custom_message: str = "",
    order_url: str = "",
    extras: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context: plain, formatted data shaped as SPEC section 6 and docs/templates.md.

    ``extras`` carries the notification's extra variables (``reset_url``, ``rma``, ...) and
    optionally ``today`` (a date or ISO string, for previews and tests) and
    ``download_instructions`` ({sku: text}, a product's instructions for every line of it).
    """
    spec: Notification = get_notification(notification)
    extras = extras or {}
    language = _language(language, _str(store.get("default_language")))
    name, url = _str(store.get("company_name")), _url(store.get("company_url"))
    today = _to_date(extras["today"]) if extras.get("today") else None
    context: dict[str, Any] = {
        "company_name": name,
        "company_url": url,
        "today": _date(today or dt.datetime.now(dt.UTC).date(), language),
        "language": language,
        "store": {
            "company_name": name,
            "company_url": url,
            "brand_color": _brand_color(store.get("brand_color")),
            "from_name": _str(store.get("from_name")) or name,
            "logo_url": _url(store.get("logo_url")),  # http(s) only (see _url)
            "footer_text": _str(store.get("footer_text")).strip(),
        },
        "customer": _customer(customer if customer is not None else (order or {}).get("customer")),
        "custom_message": _str(custom_message).strip(),
    }
    lines: dict[str, dict[str, Any]] = {}
    order_lines: list[dict[str, Any]] = []
    if spec.about_order:
        instructions = extras.get("download_instructions")
        order_context, lines = _order(
            order or {}, language, instructions if isinstance(instructions, Mapping) else {}
        )
        order_lines = order_context["lines"]
        shipments = order_context["shipments"]
        shipment = next(
            (s for s in shipments if shipment_id is not None and s["id"] == _str(shipment_id)), None
        )
        if shipment is None and notification in ("order_partially_shipped", "order_shipped") and shipments:
            shipment = shipments[-1]
        context.update(
            order=order_context,
            shipment=shipment,
            # a milestone is the e-mail itself (or has its own): never listed as news in one
            changes=[
                _change(change, language, order, lines)
                for change in changes
                if _str(change.get("rule")) not in MILESTONES
            ],
            order_url=_url(order_url),
        )
    for root in dict.fromkeys(variable.name.split(".")[0] for variable in spec.extras):
        context[root] = _extra(root, extras, language, lines, order_lines)
    return context
