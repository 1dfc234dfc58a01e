"""Read models: the JSON the API shows for stored orders (with their messages and returns)."""

from __future__ import annotations

from typing import Any

from shopmail.mail.models import Message
from shopmail.store.models import Customer, Order, Product
from shopmail.support.queries import returns_for


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def order_detail(external_id: str) -> dict[str, Any] | None:
    order = Order.objects.filter(external_id=external_id).first()
    if order is None:
        return None
    messages = Message.objects.filter(order=order).order_by("created_at", "id")
    return {
        "order": order.external_id,
        "snapshot": order.snapshot,
        "status": order.status,
        "updated_at": _iso(order.updated_at),
        "backorder_choice": order.backorder_choice or None,
        "backorder_choice_at": _iso(order.backorder_choice_at),
        "returns": returns_for(order),
        "history": [
            {
                "at": _iso(event.at),
                "rule": event.rule,
                "before": event.before,
                "after": event.after,
                "line": event.line or None,
                "shipment": event.shipment or None,
                "description": event.description,
                "outcome": event.outcome,
                "message": event.message_id,
                "before_meaning": event.before_meaning or None,  # what the statuses meant (SPEC 3)
                "after_meaning": event.after_meaning or None,
                "source": event.run.source if event.run is not None else None,  # api, sync, panel, ...
                "by": (event.run.actor or None) if event.run is not None else None,  # panel: who (SPEC 7)
            }
            for event in order.events.select_related("run")
        ],
        "messages": [
            {
                "id": m.pk,
                "notification": m.notification,
                "to": m.to_email,
                "status": m.status,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in messages
        ],
    }


def customer_detail(external_id: str) -> dict[str, Any]:
    customer = Customer.objects.get(external_id=external_id)
    return {
        "id": customer.external_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "language": customer.language or None,
        "country": customer.country or None,
        "newsletter_opt_in": customer.newsletter_opt_in,
        "newsletter_opt_in_at": _iso(customer.newsletter_opt_in_at),
        "orders": list(customer.orders.order_by("-created_at").values_list("external_id", flat=True)[:100]),
    }


def product_detail(sku: str) -> dict[str, Any]:
    product = Product.objects.get(sku=sku)
    return {
        "sku": product.sku,
        "name": product.name,
        "stock_quantity": product.stock_quantity,
        "download_instructions": product.download_instructions or None,
    }
