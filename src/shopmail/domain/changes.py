"""Change detection: what differs between the stored snapshot of an order and the new one.

Pure functions over the JSON form of order snapshots (dicts as produced by
``snapshot.dump``): no Django, no I/O. ``diff`` names every milestone and every order-update
rule of SPEC section 4; deciding what is *sent* is ``rules.decide``'s job.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from shopmail.domain import statuses
from shopmail.domain.statuses import Meaning, generic_meaning

PENDING = "pending"
CANCELLED = "cancelled"

MILESTONES = (
    "order_received",
    "order_confirmed",
    "order_partially_shipped",
    "order_shipped",
    "order_completed",
    "order_refunded",
    "order_payment_failed",
    "order_cancelled",
)
SHIPMENT_MILESTONES = ("order_partially_shipped", "order_shipped")
RULES = (
    "status_changed",
    "delivery_note_printed",
    "picked",
    "shipment_number_entered",
    "delivered_quantity_changed",
    "expected_delivery_date_changed",
    "back_in_stock",
)
#: Changes that are only noted in the history and never sent (SPEC section 3, clock skew).
NOTES = ("clock_skew",)

Snapshot = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that changed. ``rule`` is a milestone key or an order-update rule key."""

    rule: str
    before: Any = None
    after: Any = None
    line: str | None = None
    shipment: str | None = None
    description: str = ""
    refund: str | None = None
    before_meaning: str | None = None  # what a status meant (status changes only)
    after_meaning: str | None = None

    @property
    def milestone(self) -> bool:
        return self.rule in MILESTONES

    @property
    def fact(self) -> str:
        """Identity of a milestone: it is announced at most once per order, ever."""
        if self.rule in SHIPMENT_MILESTONES:
            return f"shipment:{self.shipment}"
        if self.refund is not None:
            return f"refund:{self.refund}"
        return self.rule

    @property
    def subject(self) -> str:
        """What an order-update change tells the customer about (see ``rules``)."""
        if self.rule == "status_changed":
            return "status"
        if self.rule == "shipment_number_entered":
            return f"tracking:{self.shipment}"
        if self.rule == "delivered_quantity_changed":
            return f"delivered:{self.line}"
        if self.rule == "expected_delivery_date_changed":
            return f"date:{self.line}"
        if self.rule == "back_in_stock":
            return f"stock:{self.line}"
        return self.rule

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict``, without its recursive copy of plain values (a tenth of the
        time: it ran for every change of a first import)."""
        return {
            name: value if type(value) in _PLAIN else copy.deepcopy(value)
            for name, value in zip(_CHANGE_FIELDS, (getattr(self, n) for n in _CHANGE_FIELDS), strict=True)
        }


_CHANGE_FIELDS = tuple(f.name for f in fields(Change))
_PLAIN = (str, int, float, bool, type(None))


def effective_date(line: Snapshot, order: Snapshot) -> str | None:
    """A line's expected date: its own, else the order's, else its purchase order's."""
    value = (
        line.get("expected_delivery_date")
        or order.get("expected_delivery_date")
        or line.get("purchase_order_expected_date")
    )
    return str(value) if value else None


def shipped_quantities(order: Snapshot) -> dict[str, int]:
    """Quantity shipped per line id: what the shipments list, or the delivered quantity if more."""
    shipped: dict[str, int] = {}
    for shipment in order.get("shipments") or ():
        for item in shipment.get("lines") or ():
            shipped[item["line_id"]] = shipped.get(item["line_id"], 0) + int(item.get("quantity") or 0)
    for line in order.get("lines") or ():
        shipped[line["id"]] = max(shipped.get(line["id"], 0), int(line.get("delivered_quantity") or 0))
    return shipped


NOT_SHIPPED_KINDS = ("download", "service")


def ships(line: Snapshot) -> bool:
    """A physical line (the default ``kind``): downloads and services are never "still to ship"."""
    return line.get("kind") not in NOT_SHIPPED_KINDS


def remaining(order: Snapshot) -> list[dict[str, Any]]:
    """Physical lines with quantity still to ship, and how much."""
    shipped = shipped_quantities(order)
    out = []
    for line in order.get("lines") or ():
        if not ships(line):
            continue
        left = int(line.get("quantity") or 0) - shipped.get(line["id"], 0)
        if left > 0:
            out.append({"line": line["id"], "name": line.get("name", ""), "quantity": left})
    return out


def fully_shipped(order: Snapshot) -> bool:
    return not remaining(order)


def is_open(order: Snapshot, meaning: Meaning = generic_meaning) -> bool:
    closed = meaning(order.get("status")) in (statuses.CANCELLED, statuses.REFUNDED)
    return not closed and not fully_shipped(order)


def backordered_skus(order: Snapshot, meaning: Meaning = generic_meaning) -> set[str]:
    """SKUs of lines still waiting on stock (back-ordered and not fully delivered) of an open order."""
    skus = {
        line["sku"]
        for line in order.get("lines") or ()
        if line.get("backordered")
        and line.get("sku")
        and int(line.get("delivered_quantity") or 0) < int(line.get("quantity") or 0)
    }
    # most orders have no such line: the open check (the shipments walked) only when one does
    return skus if skus and is_open(order, meaning) else set()


def _human_date(value: str | None) -> str:
    if not value:
        return "not set"
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{day.day} {day:%b %Y}"


def _status_name(order: Snapshot) -> str:
    return str(order.get("status_label") or order.get("status"))


def _shipment_changes(old: Snapshot | None, new: Snapshot) -> list[Change]:
    old_ids = {s["id"] for s in (old or {}).get("shipments") or ()}
    added = [s for s in new.get("shipments") or () if s["id"] not in old_ids]
    if not added:  # the usual case (a new order, most updates): nothing shipped to tell of
        return []
    done = fully_shipped(new)
    changes = []
    for position, shipment in enumerate(added):
        last = position == len(added) - 1
        rule = "order_shipped" if done and last else "order_partially_shipped"
        how = " ".join(str(p) for p in (shipment.get("carrier"), shipment.get("tracking_number")) if p)
        by = f" by {shipment['drop_shipper']}" if shipment.get("drop_shipper") else ""
        changes.append(
            Change(
                rule,
                after=shipment.get("tracking_number"),
                shipment=shipment["id"],
                description=(
                    (
                        "Your order has been shipped"
                        if rule == "order_shipped"
                        else "Part of your order shipped"
                    )
                    + by
                    + (f" ({how})" if how else "")
                ),
            )
        )
    return changes


def _new_order(new: Snapshot, meaning: Meaning) -> list[Change]:
    """A new order: received, confirmed (and completed), or a failed payment; an unmapped,
    cancelled or refunded status announces nothing to the customer."""
    status = new.get("status")
    means = meaning(status)
    changes: list[Change] = []

    def add(rule: str, description: str) -> None:
        changes.append(
            Change(rule, after=status, description=description, after_meaning=means or statuses.UNMAPPED)
        )

    if means in (statuses.PENDING, statuses.ON_HOLD):
        add("order_received", "Order received")
    elif means in statuses.CONFIRMED:
        add("order_confirmed", "Order confirmed")
    elif means == statuses.FAILED:
        add("order_payment_failed", "Payment failed")
    if means not in (statuses.CANCELLED, statuses.REFUNDED, statuses.FAILED):
        changes.extend(_shipment_changes(None, new))
    if means == statuses.COMPLETED:
        add("order_completed", "Order completed")
    return changes


def _status_change(old: Snapshot, new: Snapshot, meaning: Meaning) -> list[Change]:
    """What a change of status slug means: a milestone when its meaning calls for one, else
    ``status_changed`` (a move within one meaning, or to or from an unmapped status)."""
    before, after = old.get("status"), new.get("status")
    if before == after:
        return []
    was, means = meaning(before), meaning(after)

    def change(rule: str, description: str) -> Change:
        return Change(
            rule,
            before,
            after,
            description=description,
            before_meaning=was or statuses.UNMAPPED,
            after_meaning=means or statuses.UNMAPPED,
        )

    found: list[Change] = []
    if means == statuses.CANCELLED:
        found.append(change("order_cancelled", "Order cancelled"))
    elif means == statuses.REFUNDED and was != statuses.REFUNDED:
        found.append(change("order_refunded", "Order refunded"))
    elif means == statuses.FAILED and was != statuses.FAILED:
        found.append(change("order_payment_failed", "Payment failed"))
    elif means in statuses.CONFIRMED and was in statuses.UNCONFIRMED:
        found.append(change("order_confirmed", "Order confirmed"))
    if means == statuses.COMPLETED and was != statuses.COMPLETED:
        found.append(change("order_completed", "Order completed"))
    if not found:
        found.append(
            change("status_changed", f"Status changed from {_status_name(old)} to {_status_name(new)}")
        )
    return found


def _refund_changes(old: Snapshot, new: Snapshot) -> list[Change]:
    """A refund with a new id (a partial or a full refund), with its amount."""
    old_ids = {str(r.get("id")) for r in old.get("refunds") or () if isinstance(r, Mapping)}
    found = []
    for refund in new.get("refunds") or ():
        if not isinstance(refund, Mapping) or refund.get("id") is None or str(refund["id"]) in old_ids:
            continue
        amount = refund.get("amount")
        found.append(
            Change(
                "order_refunded",
                after=amount,
                refund=str(refund["id"]),
                description=f"Refund of {amount}" if amount is not None else "Refund",
            )
        )
    return found


def _flag_changes(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    if new.get("delivery_note_printed") and not old.get("delivery_note_printed"):
        yield Change("delivery_note_printed", False, True, description="The delivery note has been printed")
    if new.get("picked") and not old.get("picked"):
        yield Change("picked", False, True, description="Your order has been picked")


def _tracking_changes(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    old_shipments = {s["id"]: s for s in old.get("shipments") or ()}
    for shipment in new.get("shipments") or ():
        previous = old_shipments.get(shipment["id"])
        number = shipment.get("tracking_number")
        if previous is None or not number or number == previous.get("tracking_number"):
            continue
        carrier = f" ({shipment['carrier']})" if shipment.get("carrier") else ""
        yield Change(
            "shipment_number_entered",
            previous.get("tracking_number"),
            number,
            shipment=shipment["id"],
            description=f"Tracking number {number}{carrier} added to your shipment",
        )


def _line_changes(old: Snapshot, new: Snapshot) -> Iterable[Change]:
    old_lines = {line["id"]: line for line in old.get("lines") or ()}
    for line in new.get("lines") or ():
        previous = old_lines.get(line["id"])
        if previous is None:
            continue
        name = line.get("name") or line.get("sku") or line["id"]
        delivered = int(line.get("delivered_quantity") or 0)
        was = int(previous.get("delivered_quantity") or 0)
        if delivered != was:
            yield Change(
                "delivered_quantity_changed",
                was,
                delivered,
                line=line["id"],
                description=f"Delivered quantity of {name} changed from {was} to {delivered}",
            )
        if delivered >= int(line.get("quantity") or 0) or not ships(line):
            continue
        date_before, date_after = effective_date(previous, old), effective_date(line, new)
        if date_before != date_after:
            yield Change(
                "expected_delivery_date_changed",
                date_before,
                date_after,
                line=line["id"],
                description=(
                    f"Expected delivery of {name} moved from {_human_date(date_before)} "
                    f"to {_human_date(date_after)}"
                ),
            )


def diff(old: Snapshot | None, new: Snapshot, meaning: Meaning = generic_meaning) -> list[Change]:
    """Every milestone and order-update change from ``old`` (None for a new order) to ``new``.

    ``meaning`` maps a status slug to its meaning (``statuses.resolver`` of the store's
    ``platform`` and ``status_map``); the generic preset when not given.
    """
    if old is None:
        return _new_order(new, meaning)
    changes = _status_change(old, new, meaning)
    changes.extend(_refund_changes(old, new))
    if meaning(new.get("status")) not in (statuses.CANCELLED, statuses.REFUNDED):
        changes.extend(_shipment_changes(old, new))
    changes.extend(_flag_changes(old, new))
    changes.extend(_tracking_changes(old, new))
    changes.extend(_line_changes(old, new))
    return changes


def restocked(old_stock: int | None, new_stock: int) -> bool:
    """A product came back: its stock went from zero or less to more than zero."""
    return old_stock is not None and old_stock <= 0 < new_stock


def back_in_stock(
    order: Snapshot, sku: str, product_name: str = "", meaning: Meaning = generic_meaning
) -> list[Change]:
    """``back_in_stock`` changes for the open, back-ordered lines of ``sku`` in ``order`` (open
    by ``meaning``, the store's status meanings: a cancelled order waits for nothing)."""
    if sku not in backordered_skus(order, meaning):
        return []
    return [
        Change(
            "back_in_stock",
            False,
            True,
            line=line["id"],
            description=f"{line.get('name') or product_name or sku} is back in stock",
        )
        for line in order.get("lines") or ()
        if line.get("sku") == sku
        and line.get("backordered")
        and int(line.get("delivered_quantity") or 0) < int(line.get("quantity") or 0)
    ]


def baseline(order: Snapshot) -> dict[str, Any]:
    """What a customer learns from an order's first e-mail: the starting point of ``told``."""
    told: dict[str, Any] = {"status": [order.get("status")]}
    if order.get("delivery_note_printed"):
        told["delivery_note_printed"] = True
    if order.get("picked"):
        told["picked"] = True
    for shipment in order.get("shipments") or ():
        if shipment.get("tracking_number"):
            told[f"tracking:{shipment['id']}"] = shipment["tracking_number"]
    for line in order.get("lines") or ():
        told[f"delivered:{line['id']}"] = int(line.get("delivered_quantity") or 0)
        told[f"date:{line['id']}"] = effective_date(line, order)
    return told
