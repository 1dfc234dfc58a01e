"""Ingest, step 3: what changed and what it means, without writing anything.

``detect`` compares a stored order with the snapshot that arrived (``domain.changes.diff``),
after the two checks ingest makes on time: an older snapshot is stale and left out, one from a
shop clock ahead of ours is taken as of its arrival. ``Planner.plan`` hands the changes to the
rules (``domain.rules.decide``) and keeps what they decide as unsaved history rows and outbox
drafts, which ``apply.write`` stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shopmail import db
from shopmail.domain import changes as changes_mod
from shopmail.domain.changes import Change
from shopmail.domain.rules import STAFF, Decision, NotifyState, decide
from shopmail.domain.statuses import Meaning
from shopmail.flows.ingest.result import Item, RunResult
from shopmail.mail import outbox
from shopmail.mail.models import Priority
from shopmail.mail.render.formatting import _language, _money
from shopmail.store.models import Order, OrderEvent, StoreSettings, SyncRun

# the columns of a history row the plan fills (``order``, ``run`` and ``message`` are added when written)
EVENT_FIELDS = (
    "at",
    "rule",
    "before",
    "after",
    "line",
    "shipment",
    "description",
    "outcome",
    "before_meaning",
    "after_meaning",
)
CLOCK_SKEW = dt.timedelta(minutes=5)  # an updated_at further ahead is taken as the arrival time
OWN_SHIPMENT = "shopmail"  # a shipment's ``created_in`` when staff or a drop-shipper entered it


@dataclass
class Detected:
    """An order snapshot that is not stale, and what it changes."""

    data: dict[str, Any]  # the snapshot to store: as sent, with shopmail's own shipments kept
    updated_at: dt.datetime  # as stored: the arrival time when the shop's clock was ahead
    found: list[Change]
    clock_skew: bool = False


def detect(item: Item, stored: Order | None, now: dt.datetime, meaning: Meaning) -> Detected | None:
    """The changes from ``stored`` (None: a new order) to the item's snapshot; None when stale."""
    data = item.data
    assert data is not None
    updated_at = dt.datetime.fromisoformat(data["updated_at"])
    latest = now + CLOCK_SKEW
    if stored is not None:
        if _stale(updated_at, stored, latest):
            return None
        data = keep_own_shipments(stored.snapshot, data)
    found = changes_mod.diff(stored.snapshot if stored else None, data, meaning)
    if updated_at <= latest:
        return Detected(data, updated_at, found)
    # a shop clock ahead: the snapshot counts as of its arrival
    found.append(
        Change(
            "clock_skew",
            data["updated_at"],
            now.isoformat(),
            description=f"updated_at {data['updated_at']} is ahead of the clock; taken as the "
            f"arrival time {now.isoformat()}",
        )
    )
    return Detected(data, now, found, clock_skew=True)


def _stale(updated_at: dt.datetime, order: Order, latest: dt.datetime) -> bool:
    """Older than the stored snapshot. A stored time beyond the skew limit (kept from before
    clock skew was handled) never makes a newer snapshot stale."""
    return order.updated_at <= latest and updated_at < order.updated_at


def keep_own_shipments(stored: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """SPEC 7: a shipment created in shopmail stays on the order while the shop's snapshots do not
    carry it yet; once the shop sends a shipment with the same id, the shop's version wins."""
    incoming = {s["id"] for s in data.get("shipments") or ()}
    kept = [
        s
        for s in stored.get("shipments") or ()
        if isinstance(s, Mapping) and s.get("created_in") == OWN_SHIPMENT and s.get("id") not in incoming
    ]
    if not kept:
        return data
    return {**data, "shipments": [*(data.get("shipments") or []), *kept]}


class Planner:
    """Turns decisions into history rows and outbox drafts for one run."""

    def __init__(self, settings: StoreSettings, run: SyncRun, result: RunResult, now: dt.datetime):
        self.settings = settings
        self.queued = 0  # e-mails written so far (``apply.write``)
        self.switches = settings.switches()
        self.meaning = settings.meaning()
        self.run = run
        self.result = result
        self.now = now
        # history rows as planned: the order, the values of EVENT_FIELDS, the notification queued
        # (``apply.write`` links the message and inserts them as plain rows: a first import makes
        # 100,000 of them, and a model instance each cost more than its row)
        self.events: list[tuple[Order, tuple[Any, ...], str | None]] = []
        self._at = db.db_value(OrderEvent, "at", now)
        self._json = db.converter(OrderEvent, "before")
        self.drafts: list[outbox.Draft] = []

    def plan(self, order: Order, found: Sequence[Change], *, is_new: bool, suppress: str | None) -> None:
        snapshot = order.snapshot
        state = (
            NotifyState(told=changes_mod.baseline(snapshot))
            if is_new
            else NotifyState.from_json(order.notify_state)
        )
        decision: Decision = decide(
            order.external_id,
            found,
            state=state,
            switches=self.switches,
            is_new=is_new,
            suppress=suppress,
            has_backorders=bool(changes_mod.backordered_skus(snapshot, self.meaning)),
        )
        order.notify_state = decision.state.to_json()
        entry = self.result.listed_result(order.external_id)
        for change, outcome in decision.outcomes:
            notification = outcome.partition(":")[2] if outcome.startswith("queued:") else None
            values = (
                self._at,
                change.rule,
                self._json(change.before),
                self._json(change.after),
                change.line or "",
                change.shipment or "",
                change.description,
                outcome,
                change.before_meaning or "",
                change.after_meaning or "",
            )
            self.events.append((order, values, notification))
            if entry is not None:
                entry["changes"].append({**change.as_dict(), "outcome": outcome})
            else:
                self.result.changes_not_listed += 1
        customer = snapshot["customer"]
        for intent in decision.intents:
            staff = intent.audience == STAFF
            to_email = self.settings.admin_email if staff else customer["email"]
            if not to_email:
                continue  # no admin address configured: nothing to send staff
            language = (
                self.settings.default_language if staff else outbox.language_for(customer, self.settings)
            )
            context: dict[str, Any] = {
                "order_id": order.external_id,
                "order": snapshot,
                "changes": [change.as_dict() for change in intent.changes],
                "shipment_id": intent.shipment,
                # a cancellation from the panel tells the customer why (SPEC 7, "cancel with a reason")
                "custom_message": str(snapshot.get("cancel_reason") or "")
                if intent.notification == "order_cancelled"
                else "",
            }
            if intent.notification == "order_refunded":
                context["extras"] = {"refund": _refund(snapshot, intent.changes[0], language)}
            self.drafts.append(
                outbox.Draft(
                    key=intent.key,
                    notification=intent.notification,
                    to_email=to_email,
                    language=language,
                    context=context,
                    order=order,
                    priority=Priority.ORDER,
                    reply_to=customer["email"] if staff else "",
                )
            )


def _refund(snapshot: Mapping[str, Any], change: Change, language: str) -> dict[str, Any]:
    """The ``refund`` an ``order_refunded`` e-mail tells of: a new refund (its amount) or the whole
    order (its total)."""
    currency = str(snapshot.get("currency") or "EUR")
    if change.refund is None:
        total = (snapshot.get("totals") or {}).get("total")
        amount = _money(total, currency, _language(language)) if total else ""
        return {"id": "", "amount": amount, "reason": "", "full": True}
    refunds = [r for r in snapshot.get("refunds") or () if isinstance(r, Mapping)]
    found = next((r for r in refunds if str(r.get("id")) == change.refund), {})
    amount = found.get("amount", change.after)
    return {
        "id": change.refund,
        "amount": _money(amount, currency, _language(language)) if amount is not None else "",
        "reason": str(found.get("reason") or ""),
        "full": False,
    }
