"""An order as My page shows it: lines, shipments with tracking, downloads, a status timeline
built from the change history, returns, the back-order choice and the e-mails sent about it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import get_language, gettext, gettext_noop

from shopmail.domain.changes import RULES
from shopmail.mail.models import Message
from shopmail.mail.notifications import CUSTOMER_NOTIFICATIONS
from shopmail.mail.render import formatting
from shopmail.mail.render.changes import describe_change
from shopmail.store.models import Order, OrderEvent
from shopmail.support import backorder, returns
from shopmail.support.models import ReturnRequest

EMAIL_NAMES = {  # gettext at use: in the language of the page
    "order_received": gettext_noop("Order received"),
    "order_confirmed": gettext_noop("Order confirmation"),
    "order_backorder_choice": gettext_noop("Back-order choice"),
    "order_partially_shipped": gettext_noop("Part of your order shipped"),
    "order_shipped": gettext_noop("Your order shipped"),
    "order_completed": gettext_noop("Order completed"),
    "order_refunded": gettext_noop("Refund"),
    "order_payment_failed": gettext_noop("Payment failed"),
    "order_cancelled": gettext_noop("Order cancelled"),
    "order_updated": gettext_noop("Order update"),
    "rma_approved": gettext_noop("Return approved"),
    "rma_denied": gettext_noop("Return declined"),
}

# the timeline: what each milestone of the change history says to the customer
MILESTONE_WORDS = {
    "order_received": gettext_noop("Order received"),
    "order_confirmed": gettext_noop("Order confirmed"),
    "order_partially_shipped": gettext_noop("Part of your order has been shipped"),
    "order_shipped": gettext_noop("Your order has been shipped"),
    "order_completed": gettext_noop("Order completed"),
    "order_refunded": gettext_noop("Order refunded"),
    "order_payment_failed": gettext_noop("Payment failed"),
    "order_cancelled": gettext_noop("Order cancelled"),
}


def http_url(value: Any) -> str:
    """``value`` if it is an http(s) link, else "" (never a javascript: or data: link)."""
    text = str(value or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme in ("http", "https") and parts.netloc else ""


def when(value: Any) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime | dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None


def money(amount: Any, currency: str) -> str:
    """An amount in the page's language, as the e-mails write it (``1 349,00 kr``, ``NOK 1,349.00``)."""
    if amount in (None, ""):
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        return str(amount)
    return formatting.money(value, currency, get_language() or "en") if currency else str(value)


def _step(event: OrderEvent, snapshot: dict[str, Any]) -> str:
    """A change of the history in the customer's words and language."""
    if event.rule in MILESTONE_WORDS:
        return gettext(MILESTONE_WORDS[event.rule])
    if event.rule in RULES:
        change = {
            "rule": event.rule,
            "before": event.before,
            "after": event.after,
            "line": event.line or None,
            "shipment": event.shipment or None,
        }
        return describe_change(change, get_language() or "en", snapshot)
    if event.rule == "backorder_chosen" and isinstance(event.after, str) and event.after in backorder.LABELS:
        return gettext("Back-order choice: %(choice)s") % {"choice": backorder.label(event.after)}
    return event.description


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def summary(order: Order) -> dict[str, Any]:
    snapshot = order.snapshot or {}
    return {
        "pk": order.pk,
        "number": snapshot.get("number") or order.number or order.external_id,
        "date": when(snapshot.get("created_at")) or order.created_at,
        "status": order.status,
        "status_label": snapshot.get("status_label") or order.status.replace("_", " ").capitalize(),
        "total": money((snapshot.get("totals") or {}).get("total"), str(snapshot.get("currency") or "")),
    }


def detail(order: Order) -> dict[str, Any]:
    snapshot = order.snapshot or {}
    currency = str(snapshot.get("currency") or "")
    names = {
        str(line.get("id")): line.get("name") or line.get("sku") or "" for line in snapshot.get("lines") or ()
    }
    lines = []
    for line in snapshot.get("lines") or ():
        download = line.get("download") if isinstance(line.get("download"), dict) else None
        quantity = _int(line.get("quantity"))
        try:
            line_total = money(Decimal(str(line.get("unit_price"))) * quantity, currency)
        except (InvalidOperation, ValueError):
            line_total = ""
        lines.append(
            {
                "id": str(line.get("id")),
                "name": line.get("name") or "",
                "sku": line.get("sku") or "",
                "quantity": quantity,
                "unit_price": money(line.get("unit_price"), currency),
                "line_total": line_total,
                "delivered_quantity": _int(line.get("delivered_quantity")),
                "backordered": bool(line.get("backordered")),
                "expected": when(
                    line.get("expected_delivery_date") or snapshot.get("expected_delivery_date")
                ),
                "download": {
                    "url": http_url(download.get("url")),
                    "license_keys": [str(key) for key in download.get("license_keys") or ()],
                    "instructions": download.get("instructions") or "",
                }
                if download
                else None,
            }
        )
    shipments = [
        {
            "id": shipment.get("id"),
            "carrier": shipment.get("carrier") or "",
            "tracking_number": shipment.get("tracking_number") or "",
            "tracking_url": http_url(shipment.get("tracking_url")),
            "shipped_at": when(shipment.get("shipped_at")),
            "drop_shipper": shipment.get("drop_shipper") or "",
            "lines": [
                {
                    "name": names.get(str(item.get("line_id")), str(item.get("line_id"))),
                    "quantity": item.get("quantity"),
                }
                for item in shipment.get("lines") or ()
            ],
        }
        for shipment in snapshot.get("shipments") or ()
    ]
    timeline: list[dict[str, Any]] = [
        {"at": when(snapshot.get("created_at")) or order.created_at, "text": gettext("Order placed")}
    ]
    timeline += [
        {"at": event.at, "text": _step(event, snapshot)} for event in order.events.all() if event.description
    ]
    totals = snapshot.get("totals") or {}
    emails = (
        Message.objects.filter(order=order, notification__in=CUSTOMER_NOTIFICATIONS)
        .select_related("payload")
        .order_by("created_at", "id")
    )
    return {
        **summary(order),
        "currency": currency,
        "lines": lines,
        "totals": [
            (gettext(label), money(totals.get(key), currency))
            for key, label in (
                ("subtotal", gettext_noop("Subtotal")),
                ("shipping", gettext_noop("Shipping")),
                ("tax", gettext_noop("Tax")),
                ("total", gettext_noop("Total")),
            )
            if totals.get(key) not in (None, "")
        ],
        "shipping_address": _address(snapshot.get("shipping_address")),
        "billing_address": _address(snapshot.get("billing_address")),
        "shipments": shipments,
        "timeline": timeline,
        "returns": list(ReturnRequest.objects.filter(order=order).order_by("requested_at", "id")),
        "can_return": returns.can_return(order),
        "backorder_choice": backorder.label(order.backorder_choice),
        "backorder_choice_at": order.backorder_choice_at,
        "backorder_open": not order.backorder_choice
        and not order.is_cancelled()
        and backorder.has_backorders(order),
        "emails": [
            {
                "name": gettext(EMAIL_NAMES[message.notification])
                if message.notification in EMAIL_NAMES
                else message.notification.replace("_", " ").capitalize(),
                "subject": getattr(getattr(message, "payload", None), "subject", "") or "",
                "status": message.status,
                "at": message.sent_at or message.created_at,
            }
            for message in emails
        ],
    }


def _address(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("lines"), list):
        return [str(line) for line in value["lines"] if line]
    name = value.get("name") or " ".join(str(value.get(k) or "") for k in ("first_name", "last_name")).strip()
    parts = [
        name,
        value.get("company"),
        value.get("address1") or value.get("street"),
        value.get("address2"),
        " ".join(str(value.get(k) or "") for k in ("postcode", "city")).strip(),
        value.get("region"),
        value.get("country"),
    ]
    return [str(part) for part in parts if part]
