"""Ingest, step 4: store what the plan found — the orders' snapshots, their history, their e-mails.

``apply_orders`` writes the new and changed orders (and their customers) and plans each one;
``apply_restocks`` plans a back-in-stock notice for every open order waiting for a SKU that
came back; ``write`` queues the planned e-mails (composed by ``mail.outbox``) and stores the
history rows linked to them; ``sync_backorder_lines`` brings the back-order lines up to date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from django.db import connection
from django.utils import timezone

from shopmail.db import build, fast_create, fast_update, insert_rows
from shopmail.domain import changes as changes_mod
from shopmail.domain.changes import Change
from shopmail.domain.rules import NOTIFY_SINCE, SILENT
from shopmail.domain.statuses import Meaning
from shopmail.flows.ingest.plan import EVENT_FIELDS, Planner, detect
from shopmail.flows.ingest.result import CHUNK, Item
from shopmail.flows.ingest.upsert import fetch, upsert_customers
from shopmail.mail import outbox
from shopmail.mail.models import Message
from shopmail.store.models import BackorderLine, Order, OrderEvent

_ORDER_COLUMNS = ["number", "customer", "status", "created_at", "updated_at", "snapshot", "snapshot_hash"]


def apply_orders(items: list[Item], planner: Planner, silent: bool) -> tuple[list[Order], list[Order]]:
    """New and changed orders, written and planned; returns them (stale ones left out), and
    the new ones among them."""
    result, settings = planner.result, planner.settings
    existing = fetch(Order, "external_id", (item.key for item in items), lock=True)
    detected = [
        (item, existing.get(item.key), detect(item, existing.get(item.key), planner.now, planner.meaning))
        for item in items
    ]
    customers = upsert_customers(
        item.data["customer"] for item, _, found in detected if found is not None and item.data
    )
    new_orders: list[Order] = []
    updated: list[Order] = []
    plans: list[tuple[Order, list[Change], bool, str | None]] = []
    counts = result.counts["orders"]
    for item, order, found in detected:
        if found is None:
            counts.stale += 1
            result.order_result(item.key)["stale"] = True
            continue
        if found.clock_skew:
            result.order_result(item.key)["clock_skew"] = True
        data = found.data
        fields = {
            "number": data.get("number") or item.key,
            "customer": customers[data["customer"]["id"]],
            "status": data["status"],
            "created_at": dt.datetime.fromisoformat(data["created_at"]),
            "updated_at": found.updated_at,
            "snapshot": data,
            "snapshot_hash": item.hash,
        }
        suppress = SILENT if silent else None
        if order is None:
            counts.new += 1
            order = build(Order, external_id=item.key, **fields)
            new_orders.append(order)
            if suppress is None and fields["created_at"] < settings.notify_since:
                suppress = NOTIFY_SINCE
        else:
            counts.changed += 1
            for name, value in fields.items():
                setattr(order, name, value)
            updated.append(order)
        plans.append((order, found.found, order.pk is None, suppress))
        result.order_result(item.key)
    for order, changes, is_new, suppress in plans:
        planner.plan(order, changes, is_new=is_new, suppress=suppress)
    fast_create(new_orders)
    now = timezone.now()
    for order in updated:
        order.stored_at = now
    fast_update(updated, [*_ORDER_COLUMNS, "notify_state", "stored_at"])
    return [order for order, _, _, _ in plans], new_orders


def apply_restocks(restocked: dict[str, str], planner: Planner, silent: bool) -> list[Order]:
    """A restock tells every open order waiting for that SKU; returns the orders planned."""
    if not restocked:
        return []
    waiting = BackorderLine.objects.filter(sku__in=list(restocked)).values_list("order_id", "sku")
    skus_by_order: dict[int, list[str]] = {}
    for order_id, sku in waiting:
        skus_by_order.setdefault(order_id, []).append(sku)
    query = Order.objects.filter(pk__in=list(skus_by_order))
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    touched = []
    for order in query:
        found = [
            change
            for sku in skus_by_order[order.pk]
            for change in changes_mod.back_in_stock(order.snapshot, sku, restocked[sku], planner.meaning)
        ]
        planner.plan(order, found, is_new=False, suppress=SILENT if silent else None)
        touched.append(order)
    fast_update(touched, ["notify_state"])
    return touched


def write(planner: Planner) -> None:
    """Queue the e-mails planned so far and store the history rows linked to them; the planner
    then starts afresh (a large run is written chunk by chunk, in its one transaction)."""
    # the worker composes them, outside this transaction (ADR 0012)
    messages = outbox.queue(planner.drafts, planner.settings, compose=False)
    by_order_notification: dict[tuple[int, str], Message] = {}
    for message, draft in zip(messages, planner.drafts, strict=True):
        assert draft.order is not None
        by_order_notification[(draft.order.pk, draft.notification)] = message
        summary = outbox.summary(message)
        planner.result.messages.append({"order": draft.order.external_id, **summary})
        planner.result.order_result(draft.order.external_id)["messages"].append(summary)
    rows = []
    for order, values, notification in planner.events:
        linked = by_order_notification.get((order.pk, notification)) if notification else None
        rows.append((order.pk, planner.run.pk, linked.pk if linked is not None else None, *values))
    insert_rows(OrderEvent, ["order", "run", "message", *EVENT_FIELDS], rows)
    planner.queued += len(planner.drafts)
    planner.drafts, planner.events = [], []


# an order's back-order lines as they should be: (the order is new, so has none yet; its SKUs)
Backorders = dict[int, tuple[bool, tuple[str, ...]]]


def backorders(orders: Sequence[Order], meaning: Meaning, created: Collection[Order] = ()) -> Backorders:
    """What ``sync_backorder_lines`` needs of ``orders`` (``created``: those of them this run
    inserted), without keeping the orders themselves. ``meaning``: the store's status meanings
    (an order cancelled by the store's own slug waits for no stock)."""
    new = {order.pk for order in created}
    return {
        order.pk: (order.pk in new, tuple(sorted(changes_mod.backordered_skus(order.snapshot, meaning))))
        for order in orders
    }


def sync_backorder_lines(lines: Backorders) -> None:
    """Bring the back-order lines of a run's orders up to date (after its restocks were planned
    against the lines as they were)."""
    ids = [pk for pk, (new, _) in lines.items() if not new]  # a new order has no lines yet
    for start in range(0, len(ids), CHUNK):
        BackorderLine.objects.filter(order_id__in=ids[start : start + CHUNK]).delete()
    fast_create(
        [build(BackorderLine, order_id=pk, sku=sku) for pk, (_, skus) in lines.items() for sku in skus]
    )
