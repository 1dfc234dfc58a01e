"""Deciding what is sent: from the changes of one ingest to the e-mails it calls for.

Pure Python. Two memories per order make "nothing is sent twice for the same fact" hold:

* ``facts`` — milestones that happened (a confirmation, a cancellation, each shipment id).
  A milestone is announced at most once per order, ever, whatever the status does later.
* ``told`` — for every order-update subject (a line's expected date, a shipment's tracking
  number, ...) the last value the customer was told. A change is only worth an e-mail when its
  new value differs from what the customer already knows, so replays stay quiet while a real
  change (even back to an earlier date) is announced. The status is the exception: each status
  is announced at most once (``told["status"]`` is the list of statuses told), so an order that
  flips between two statuses does not mail the customer on every flip.

Changes that are suppressed (``silent`` sync, orders from before ``notify_since``) still move
both memories forward; a switched-off rule does not, because the customer was not told.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shopmail.domain.changes import MILESTONES, NOTES, SHIPMENT_MILESTONES, Change

CUSTOMER = "customer"
STAFF = "staff"

# Outcomes recorded in an order's history for each change.
ALREADY_SENT = "already_sent"
ALREADY_TOLD = "already_told"
RULE_OFF = "rule_off"
NOTIFICATION_OFF = "notification_off"
SILENT = "silent"
NOTIFY_SINCE = "notify_since"
SUPERSEDED = "superseded"
NOTED = "noted"
SHIPPED_ALREADY = "order_shipped_sent"  # order_completed after an order_shipped says nothing new

#: Notifications that are off until the store switches them on.
OFF_BY_DEFAULT = ("admin_customer_registered", "order_payment_failed")

# Where order-update changes go when several milestones fire in one ingest (most telling first).
_HOST_PRIORITY = (
    "order_cancelled",
    "order_refunded",
    "order_shipped",
    "order_partially_shipped",
    "order_completed",
    "order_confirmed",
    "order_payment_failed",
    "order_received",
)
# Milestones a status change causes; a return to one already announced is only a status change.
_STATUS_MILESTONES = ("order_received", "order_confirmed", "order_cancelled", "order_refunded")
# Milestones whose ``after`` is the status the customer is told.
_STATUS_TOLD = (*_STATUS_MILESTONES, "order_completed", "order_payment_failed")
_MISSING = object()


def _known(state: NotifyState, statuses: list[Any], change: Change) -> bool:
    if change.rule == "status_changed":
        return change.after in statuses
    return state.told.get(change.subject, _MISSING) == change.after


def _tell(state: NotifyState, statuses: list[Any], change: Change) -> None:
    if change.rule == "status_changed":
        if change.after not in statuses:
            statuses.append(change.after)
    else:
        state.told[change.subject] = change.after


@dataclass(frozen=True)
class Switches:
    notifications: Mapping[str, bool] = field(default_factory=dict)
    rules: Mapping[str, bool] = field(default_factory=dict)
    allow_backorder_choice: bool = True

    def notification_on(self, key: str) -> bool:
        return self.notifications.get(key, key not in OFF_BY_DEFAULT)

    def rule_on(self, key: str) -> bool:
        return self.rules.get(key, True)


@dataclass
class NotifyState:
    facts: set[str] = field(default_factory=set)
    told: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> NotifyState:
        data = data or {}
        return cls(set(data.get("facts", ())), dict(data.get("told", {})), int(data.get("seq", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"facts": sorted(self.facts), "told": self.told, "seq": self.seq}


@dataclass(frozen=True)
class Intent:
    """An e-mail to queue. ``key`` is its idempotency key, unique across all messages."""

    notification: str
    audience: str
    key: str
    changes: tuple[Change, ...] = ()
    shipment: str | None = None


@dataclass
class Decision:
    intents: list[Intent]
    outcomes: list[tuple[Change, str]]
    state: NotifyState


def decide(
    order_id: str,
    changes: Sequence[Change],
    *,
    state: NotifyState,
    switches: Switches,
    is_new: bool,
    suppress: str | None = None,
    has_backorders: bool = False,
) -> Decision:
    """Which e-mails one ingest of one order sends (SPEC section 4, "Rules of sending").

    ``state`` is not modified; the returned decision carries the next state.
    """
    state = NotifyState(set(state.facts), dict(state.told), state.seq)
    outcomes: dict[int, str] = {}
    milestones: list[Change] = []
    updates: list[Change] = []
    # Confirmed (or cancelled) once already: a return to that status is only a status change.
    changes = [
        replace(c, rule="status_changed", description=f"Status changed from {c.before} to {c.after}")
        if c.milestone and c.fact in state.facts and c.rule in _STATUS_MILESTONES and c.refund is None
        else c
        for c in changes
    ]
    statuses: list[Any] = list(state.told.get("status") or [])
    shipped_now = any(c.rule == "order_shipped" and c.fact not in state.facts for c in changes)
    failed_now = False
    for index, change in enumerate(changes):
        if change.rule in NOTES:
            outcomes[index] = NOTED
            continue
        if change.milestone:
            if change.fact in state.facts:
                outcomes[index] = ALREADY_SENT
                continue
            state.facts.add(change.fact)
            if change.rule == "order_shipped":
                state.facts.add("order_shipped")
            if change.rule == "order_payment_failed":
                failed_now = True
            if change.rule in _STATUS_TOLD and change.refund is None and change.after not in statuses:
                statuses.append(change.after)
            if change.rule == "order_completed" and (shipped_now or "order_shipped" in state.facts):
                outcomes[index] = SHIPPED_ALREADY
                continue
            if change.rule in SHIPMENT_MILESTONES and change.after:
                state.told[f"tracking:{change.shipment}"] = change.after
            if suppress:
                outcomes[index] = suppress
            elif not switches.notification_on(change.rule):
                outcomes[index] = NOTIFICATION_OFF
            else:
                milestones.append(change)
        elif _known(state, statuses, change):
            outcomes[index] = ALREADY_TOLD
        elif suppress:
            _tell(state, statuses, change)
            outcomes[index] = suppress
        elif not switches.rule_on(change.rule):
            outcomes[index] = RULE_OFF
        else:
            updates.append(change)

    position = {id(change): index for index, change in enumerate(changes)}
    intents: list[Intent] = []
    chosen: dict[str, Change] = {}
    for change in milestones:  # one e-mail per key: the last shipment of an ingest wins
        chosen[change.rule] = change
    for change in milestones:
        if chosen[change.rule] is not change:
            outcomes[position[id(change)]] = SUPERSEDED
    host = next((rule for rule in _HOST_PRIORITY if rule in chosen), None)
    if updates and host is None and not switches.notification_on("order_updated"):
        for change in updates:
            outcomes[position[id(change)]] = NOTIFICATION_OFF
        updates = []
    for change in updates:
        _tell(state, statuses, change)
    state.told["status"] = statuses

    for rule in MILESTONES:
        if rule not in chosen:
            continue
        milestone = chosen[rule]
        folded = tuple(updates) if rule == host else ()
        if rule in SHIPMENT_MILESTONES:
            key = f"{rule}:{order_id}:{milestone.shipment}"
        elif milestone.refund is not None:
            key = f"{rule}:{order_id}:refund:{milestone.refund}"
        else:
            key = f"{rule}:{order_id}"
        intents.append(Intent(rule, CUSTOMER, key, (milestone, *folded), milestone.shipment))
    if updates and host is None:
        state.seq += 1
        intents.append(
            Intent("order_updated", CUSTOMER, f"order_updated:{order_id}:{state.seq}", tuple(updates))
        )

    if (
        "order_confirmed" in chosen
        and has_backorders
        and switches.allow_backorder_choice
        and "order_backorder_choice" not in state.facts
    ):
        state.facts.add("order_backorder_choice")
        if switches.notification_on("order_backorder_choice"):
            intents.append(Intent("order_backorder_choice", CUSTOMER, f"order_backorder_choice:{order_id}"))

    if is_new and "admin_order_placed" not in state.facts:
        state.facts.add("admin_order_placed")
        if not suppress and switches.notification_on("admin_order_placed"):
            intents.append(Intent("admin_order_placed", STAFF, f"admin_order_placed:{order_id}"))

    if failed_now and "admin_order_failed" not in state.facts:
        state.facts.add("admin_order_failed")
        if not suppress and switches.notification_on("admin_order_failed"):
            intents.append(Intent("admin_order_failed", STAFF, f"admin_order_failed:{order_id}"))

    for intent in intents:
        for change in intent.changes:
            outcomes[position[id(change)]] = f"queued:{intent.notification}"
    return Decision(intents, [(change, outcomes[i]) for i, change in enumerate(changes)], state)
