"""Ingest: one run of orders, products and customers, validated and applied in one transaction.

An order PUT is a run of one order; a sync document is one run of many. Either every write of
a run happens (snapshots, change history, outbox rows) or none does: a run with an invalid item
is refused whole, every error listed. With ``partial`` the invalid items are left out and
listed; with ``dry_run`` the run is rolled back and
reports the messages it would have queued. The steps are modules of their own: ``collect``
(parse, validate), ``upsert`` (customers, products), ``plan`` (changes and decisions) and
``apply`` (orders, history, e-mails).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from shopmail.core import collector
from shopmail.core.errors import Rejected
from shopmail.db import fast_create
from shopmail.flows.ingest.apply import (
    Backorders,
    apply_orders,
    apply_restocks,
    backorders,
    sync_backorder_lines,
    write,
)
from shopmail.flows.ingest.collect import collect, collect_chunks
from shopmail.flows.ingest.group import Group
from shopmail.flows.ingest.plan import Planner
from shopmail.flows.ingest.result import CHUNK, KINDS, Item, Progress, RunResult
from shopmail.flows.ingest.upsert import upsert_customers, upsert_products
from shopmail.store.models import StoreSettings, SyncRun

log = logging.getLogger("shopmail.flows.ingest")


def ingest(
    *,
    orders: Iterable[Any] = (),
    products: Iterable[Any] = (),
    customers: Iterable[Any] = (),
    silent: bool = False,
    dry_run: bool = False,
    partial: bool = False,
    source: str = "api",
    progress: Progress | None = None,
    listed: int | None = None,
) -> RunResult:
    """One run, validated and applied in a single transaction (orders a chunk at a time).

    ``listed`` caps how many orders the result lists with their changes and messages (a file
    sync of 100,000 orders counts the rest); the API lists all.

    A run that meets a dropped database connection (a server restart) before its commit is
    retried once on a new connection, transparently: the transaction was rolled back with the
    connection, and a run is idempotent (content hashes, unique message keys)."""
    # a run over lists can be read again; a stream is not retried
    lists = [items for items in (orders, products, customers) if isinstance(items, Sequence)]
    rereadable = len(lists) == 3
    # a large run (or a stream) builds many objects that live until their chunk is written: the
    # garbage collector is held back while it runs (core.collector)
    large = not rereadable or sum(map(len, lists)) > CHUNK
    reconnected = False
    for attempt in range(3):
        try:
            with collector.relaxed(large):
                return _ingest_once(
                    orders, products, customers, silent, dry_run, partial, source, progress, listed
                )
        except (OperationalError, InterfaceError):
            if reconnected or not rereadable or not _connection_lost():
                raise
            reconnected = True
            log.warning("ingest met a dropped database connection; retrying once on a new one")
            connection.close()
        except IntegrityError:
            # Two runs created the same new order or customer at once; the loser retries and
            # now sees the winner's rows, so the facts it carries are not announced twice. A
            # stream was read already: run again, it would apply nothing and report success.
            if attempt == 2 or not rereadable:
                raise
            log.info("ingest conflict with a concurrent run; retrying", extra={"attempt": attempt + 1})
    raise AssertionError("unreachable")


def ingest_order(key: str, body: Any) -> dict[str, Any]:
    """One order from the API; its entry of the run (``empty_entry`` if it lists nothing of it).

    On SQLite, whose runs take turns at the one writer anyway (ADR 0008), it is applied in a
    group with the orders that arrive with it (ADR 0013, ``group``). On PostgreSQL runs proceed
    side by side and commits already share the WAL's flushes: grouping them would make each
    wait for the others (measured: a slower PUT at 50 orders/s), so each runs on its own."""
    if connection.vendor == "sqlite":
        return _api_orders.submit(key, body)
    return ingest(orders=[body], source="api").order_result(key)


_api_orders = Group(lambda bodies: ingest(orders=bodies, source="api"))


def _connection_lost() -> bool:
    """The connection broke (not a statement error), outside a caller's transaction."""
    if connection.in_atomic_block:
        return False  # the caller's transaction is gone too: only the caller can retry it
    return connection.connection is None or not connection.is_usable()


def _ingest_once(
    orders: Iterable[Any],
    products: Iterable[Any],
    customers: Iterable[Any],
    silent: bool,
    dry_run: bool,
    partial: bool,
    source: str,
    progress: Progress | None,
    listed: int | None,
) -> RunResult:
    result = RunResult(dry_run=dry_run, listed=listed)
    errors: list[dict[str, Any]] = []
    collected: dict[str, list[Item]] = {}
    # read once per run, before the transaction: the time zone for validation (zone-less times
    # are read in it, SPEC 2), then switches, meanings and addresses for the plan and the e-mails
    settings = StoreSettings.load()
    context = {"time_zone": settings.zone()}
    for kind, raws in (("products", products), ("customers", customers)):
        collected[kind], kind_errors = collect(kind, raws, result, progress=progress, context=context)
        errors.extend(kind_errors)
    # The first chunk of orders is validated before the transaction: a run of up to CHUNK
    # orders (every API call, webhook and staff action) with an invalid item is refused before
    # it takes the write lock, as before chunked validation. A larger run validates its other
    # chunks inside the transaction (below).
    chunks = collect_chunks("orders", orders, result, progress, context)
    first = next(chunks, None)
    order_errors = list(first[1]) if first is not None else []
    if (order_errors or errors) and not partial:  # refused before any write, every error listed
        order_errors += [error for _, found in chunks for error in found]
        raise Rejected(order_errors + errors)
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun(source=source, dry_run=dry_run, silent=silent, started_at=now)
        planner = Planner(settings, run, result, now)
        customer_items = collected["customers"]
        upsert_customers((item.data for item in customer_items if item.data), result.counts["customers"])
        customer_counts = result.counts["customers"]
        customer_counts.unchanged = customer_counts.seen - customer_counts.new - customer_counts.changed
        customer_counts.unchanged -= customer_counts.rejected
        lines: Backorders = {}
        # Orders are validated a chunk at a time and each chunk applied before the next is read,
        # so a large run holds one chunk's orders. An invalid order (without ``partial``) stops
        # the applying; the rest is still validated, for the list of every error, and the run is
        # refused: raising here rolls back what was applied, and nothing of the run is kept.
        order_errors = []
        for chunk, found in itertools.chain([first] if first is not None else [], chunks):
            order_errors += found
            if order_errors and not partial:
                continue
            touched, created = apply_orders(chunk, planner, silent)
            lines.update(backorders(touched, planner.meaning, created))
            for item in chunk:
                item.data = None
            if len(planner.events) >= CHUNK:
                if run.pk is None:  # the history rows point to it; its summary follows at the end
                    fast_create([run])
                write(planner)
        if order_errors and not partial:
            raise Rejected(order_errors)
        result.rejected.sort(key=lambda rejected: KINDS.index(rejected["kind"]))  # orders first
        restocked = upsert_products(collected["products"], result.counts["products"])
        touched = apply_restocks(restocked, planner, silent)
        for pk, (_, skus) in backorders(touched, planner.meaning).items():
            lines[pk] = (lines[pk][0] if pk in lines else False, skus)
        # the run's row keeps counts and rejections only (not the whole summary's list of changes)
        run.summary = {
            "counts": result.counts_json(),
            "rejected": result.rejected,
            "messages": planner.queued + len(planner.drafts),  # one message per draft (outbox.queue)
        }
        if run.pk is None:  # a run of one chunk: one INSERT, with its summary
            fast_create([run])
        else:
            SyncRun.objects.filter(pk=run.pk).update(summary=run.summary)
        result.run_id = run.pk
        write(planner)
        sync_backorder_lines(lines)
        if dry_run:
            transaction.set_rollback(True)
            for message in result.messages:
                message["id"] = None
            for entry in result.orders.values():
                for message in entry["messages"]:
                    message["id"] = None
            result.run_id = None
    return result
