"""The customer's back-order choice: one shipment when everything is in stock, or ship what is
available now. Stored once on the order; shown to staff in the order's history and the API."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from shopmail.mail.links import BACKORDER_CHOICES
from shopmail.store import feed
from shopmail.store.models import Order, OrderEvent

LABELS = {  # in English (the history); ``label`` in the language of the page
    "one_shipment": gettext_noop("One shipment when everything is in stock"),
    "ship_available": gettext_noop("Ship what is available now, the rest when it arrives"),
}
assert set(LABELS) == set(BACKORDER_CHOICES)


def label(choice: str | None) -> str:
    """The choice in words, in the active language ("" for none)."""
    return gettext(LABELS[choice]) if choice in LABELS else ""


def has_backorders(order: Order) -> bool:
    return any(
        line.get("backordered") and int(line.get("delivered_quantity") or 0) < int(line.get("quantity") or 0)
        for line in order.snapshot.get("lines") or ()
    )


def choose(order: Order, choice: str, *, source: str = "link") -> tuple[Order, bool]:
    """Store ``choice`` unless one was made before; (the order, whether this call stored it)."""
    if choice not in LABELS:
        raise ValueError(f"unknown back-order choice {choice!r}")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.backorder_choice or order.is_cancelled():
            return order, False
        now = timezone.now()
        order.backorder_choice, order.backorder_choice_at = choice, now
        order.save(update_fields=["backorder_choice", "backorder_choice_at"])
        OrderEvent.objects.create(
            order=order,
            at=now,
            rule="backorder_chosen",
            after=choice,
            description=f"Back-order choice: {LABELS[choice]}",
            outcome="recorded",
        )
        feed.record(
            "backorder.chosen",
            {"order": order.external_id, "choice": choice, "at": now.isoformat(), "source": source},
        )
    return order, True
