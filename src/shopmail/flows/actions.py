"""Staff order actions (SPEC sections 2 and 7): confirm, cancel, ship, expected delivery date.

An action never sends mail itself. It builds the order's next snapshot from the stored one
(``source: panel``, ``updated_at`` now) and hands it to ``flows.ingest.ingest`` — the very function
``PUT /api/v1/orders/{id}`` uses — so change detection, the rules and the e-mails are the shop's
own. The run is marked with the staff user (``SyncRun.actor``) and reported back to the shop as
``order.changed_by_staff`` (with the snapshot) and, for a shipment, ``shipment.created``.

``run(..., preview=True)`` does all of it inside a transaction that is rolled back, and renders
the e-mails that would be queued, so staff see them before they confirm.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopmail.core.errors import Rejected, pydantic_errors
from shopmail.domain import changes as changes_mod
from shopmail.domain import statuses
from shopmail.domain.snapshot import Ident, Line
from shopmail.flows.ingest import OWN_SHIPMENT, ingest
from shopmail.mail import compose, rendering
from shopmail.mail.models import Message
from shopmail.store import feed
from shopmail.store.models import Order, StoreSettings, SyncRun

ACTIONS = ("confirm", "cancel", "ship", "expected_date")
SOURCE = "panel"


class ShipLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_id: Ident
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


class ShipmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Ident | None = None
    lines: list[ShipLine] | None = Field(default=None, max_length=1000)  # None: all that is left
    carrier: Line | None = None
    tracking_number: Line | None = None
    tracking_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None
    shipped_at: dt.datetime | dt.date | None = None
    drop_shipper: Line | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["confirm", "cancel", "ship", "expected_date"]
    reason: Annotated[str, Field(max_length=2000)] | None = None  # cancel: told to the customer
    shipment: ShipmentIn | None = None  # ship
    line: Ident | None = None  # expected_date: a line, or the order when left out
    date: dt.date | None = None  # expected_date; null clears it
    preview: bool = False


def _error(loc: list[Any], msg: str) -> Rejected:
    return Rejected([{"loc": ["body", *loc], "msg": msg}])


def parse(body: Mapping[str, Any]) -> ActionIn:
    try:
        action = ActionIn.model_validate(body)
    except ValidationError as exc:
        raise Rejected(pydantic_errors(exc, ["body"])) from None
    if action.action == "ship" and action.shipment is None:
        raise _error(["shipment"], "is required to ship")
    if action.action == "expected_date" and "date" not in body:
        raise _error(["date"], "is required (a date, or null to clear it)")
    return action


def status_for(meaning: str, settings: StoreSettings, current: str | None = None) -> str:
    """The store's status slug for a meaning: the slug named like it if the store maps it so,
    else the first slug its map gives that meaning."""
    table = statuses.status_map(settings.platform, settings.status_map)
    preferred = {statuses.PROCESSING: ("processing", "paid"), statuses.CANCELLED: ("cancelled", "canceled")}
    for slug in preferred.get(meaning, ()):
        if table.get(slug) == meaning:
            return slug
    for slug, means in table.items():
        if means == meaning:
            return slug
    return meaning


def _instant(value: dt.datetime | dt.date | None, settings: StoreSettings) -> str:
    if value is None:
        return timezone.now().isoformat()
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12, 0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.zone())
    return value.isoformat()


def next_snapshot(
    order: Order, action: ActionIn, settings: StoreSettings, now: dt.datetime
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The order's next snapshot after ``action``, and the shipment it created (if any).
    Raises ``Rejected`` (nothing changed) for what cannot be done to this order."""
    snapshot: dict[str, Any] = copy.deepcopy(order.snapshot)
    meaning = settings.meaning()(snapshot.get("status"))
    if meaning == statuses.CANCELLED:
        raise _error(["action"], f"order {order.external_id} is cancelled: nothing can be done to it")
    if meaning == statuses.REFUNDED and action.action != "confirm":
        raise _error(["action"], f"order {order.external_id} is refunded")
    shipment: dict[str, Any] | None = None
    if action.action == "confirm":
        if meaning in statuses.CONFIRMED:
            raise _error(
                ["action"], f"order {order.external_id} is already confirmed ({snapshot.get('status')})"
            )
        if meaning == statuses.REFUNDED:
            raise _error(["action"], f"order {order.external_id} is refunded")
        snapshot["status"] = status_for(statuses.PROCESSING, settings)
        snapshot["status_label"] = ""
    elif action.action == "cancel":
        snapshot["status"] = status_for(statuses.CANCELLED, settings)
        snapshot["status_label"] = ""
        snapshot["cancel_reason"] = (action.reason or "").strip()
    elif action.action == "ship":
        assert action.shipment is not None
        shipment = _shipment(order, snapshot, action.shipment, settings)
        snapshot.setdefault("shipments", []).append(shipment)
    else:
        _expected_date(snapshot, action)
    stored = order.updated_at
    snapshot["updated_at"] = max(now, stored).isoformat()  # never older than the stored version
    snapshot["source"] = SOURCE
    return snapshot, shipment


def _shipment(
    order: Order, snapshot: dict[str, Any], given: ShipmentIn, settings: StoreSettings
) -> dict[str, Any]:
    lines = {line["id"]: line for line in snapshot.get("lines") or ()}
    left = {item["line"]: item["quantity"] for item in changes_mod.remaining(snapshot)}
    if not left:
        raise _error(["shipment", "lines"], "nothing is left to ship on this order")
    wanted = given.lines
    if wanted is None:
        items = [{"line_id": line_id, "quantity": quantity} for line_id, quantity in left.items()]
    else:
        errors: list[dict[str, Any]] = []
        if not wanted:
            errors.append({"loc": ["body", "shipment", "lines"], "msg": "choose at least one line"})
        seen: set[str] = set()
        for index, item in enumerate(wanted):
            loc: list[Any] = ["body", "shipment", "lines", index]
            if item.line_id not in lines:
                errors.append({"loc": [*loc, "line_id"], "msg": f"order has no line {item.line_id!r}"})
            elif item.line_id in seen:
                errors.append({"loc": [*loc, "line_id"], "msg": "the same line twice"})
            elif not changes_mod.ships(lines[item.line_id]):
                errors.append({"loc": [*loc, "line_id"], "msg": "is not a physical line (nothing to ship)"})
            elif item.quantity > left.get(item.line_id, 0):
                errors.append(
                    {
                        "loc": [*loc, "quantity"],
                        "msg": f"{item.quantity} is more than is left to ship ({left.get(item.line_id, 0)})",
                    }
                )
            seen.add(item.line_id)
        if errors:
            raise Rejected(errors)
        items = [{"line_id": item.line_id, "quantity": item.quantity} for item in wanted]
    ids = {s.get("id") for s in snapshot.get("shipments") or ()}
    shipment_id = given.id or f"sm-{uuid.uuid4().hex[:12]}"
    if shipment_id in ids:
        raise _error(["shipment", "id"], f"order already has a shipment {shipment_id!r}")
    shipment: dict[str, Any] = {
        "id": shipment_id,
        "carrier": given.carrier or None,
        "tracking_number": given.tracking_number or None,
        "tracking_url": given.tracking_url or None,
        "shipped_at": _instant(given.shipped_at, settings),
        "drop_shipper": given.drop_shipper or None,
        "lines": items,
        "created_in": OWN_SHIPMENT,
    }
    return {k: v for k, v in shipment.items() if v is not None}


def _expected_date(snapshot: dict[str, Any], action: ActionIn) -> None:
    value = action.date.isoformat() if action.date else None
    if action.line is None:
        snapshot["expected_delivery_date"] = value
        return
    for line in snapshot.get("lines") or ():
        if line["id"] == action.line:
            if not changes_mod.ships(line):
                raise _error(["line"], f"line {action.line!r} is not shipped (a download or service)")
            line["expected_delivery_date"] = value
            return
    raise _error(["line"], f"order has no line {action.line!r}")


def run(order_id: str, body: Mapping[str, Any], actor: str, *, preview: bool | None = None) -> dict[str, Any]:
    """Do ``body``'s action to the order as ``actor``; with ``preview``, only say what it would send.

    Raises ``Order.DoesNotExist`` for an unknown order and ``Rejected`` for bad input."""
    action = parse(body)
    if preview is None:
        preview = action.preview
    with transaction.atomic():
        order = Order.objects.select_for_update().get(external_id=order_id)
        settings = StoreSettings.load()
        snapshot, shipment = next_snapshot(order, action, settings, timezone.now())
        try:
            result = ingest(orders=[snapshot], source=SOURCE)
        except Rejected as exc:
            raise Rejected(
                [{"loc": ["body", *err["loc"][2:]], "msg": err["msg"]} for err in exc.errors]
            ) from None
        entry = result.orders.get(order.external_id) or {"changes": [], "messages": []}
        if result.run_id is not None:
            SyncRun.objects.filter(pk=result.run_id).update(actor=actor[:200])
        order.refresh_from_db()
        feed.record(
            "order.changed_by_staff",
            {"order": order.external_id, "action": action.action, "by": actor, "snapshot": order.snapshot},
        )
        if shipment is not None:
            feed.record(
                "shipment.created",
                {"order": order.external_id, "shipment": shipment, "by": actor},
            )
        answer: dict[str, Any] = {
            "order": order.external_id,
            "action": action.action,
            "by": actor,
            "preview": preview,
            "changes": entry["changes"],
            "messages": entry["messages"],
            "shipment": shipment,
        }
        if preview:
            answer["emails"] = _render(entry["messages"], settings)
            for message in answer["messages"]:
                message["id"] = None
            transaction.set_rollback(True)
    return answer


def _render(summaries: list[dict[str, Any]], settings: StoreSettings) -> list[dict[str, Any]]:
    """The queued messages of a preview run, rendered as they would be sent."""
    out = []
    for summary in summaries:
        message = Message.objects.select_related("payload").get(pk=summary["id"])
        try:  # not composed yet: the worker composes order mail (ADR 0012)
            rendered, _ = compose.render_message(message, message.payload, settings)
        except rendering.TemplateRenderError as exc:
            out.append({**summary, "id": None, "subject": "", "text": f"(cannot be made: {exc})"})
            continue
        out.append({**summary, "id": None, "subject": rendered.subject, "text": rendered.text})
    return out


def actor_of(user: Any) -> str:
    """How the history names a panel user."""
    return str(getattr(user, "email", "") or getattr(user, "username", "") or user)
