"""Ingest: validate, upsert, diff, decide and queue — one database transaction per run.

An order PUT is a run of one order; a sync document is one run of many. Either every write of
a run happens (snapshots, change history, outbox rows) or none does. With ``partial`` the
invalid items are left out up front and listed; with ``dry_run`` the run is rolled back and
reports the messages it would have queued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from shopmail.core.errors import Rejected, pydantic_errors
from shopmail.db import fast_update
from shopmail.domain import changes as changes_mod
from shopmail.domain.changes import Change
from shopmail.domain.rules import NOTIFY_SINCE, SILENT, STAFF, Decision, NotifyState, decide
from shopmail.domain.snapshot import CustomerIn, OrderIn, ProductIn, ident
from shopmail.mail import outbox
from shopmail.mail.models import Message, Priority
from shopmail.mail.render.formatting import _language, _money
from shopmail.store.models import (
    BackorderLine,
    Customer,
    Order,
    OrderEvent,
    Product,
    StoreSettings,
    SyncRun,
)
from shopmail.store.syncfile import RawLine

log = logging.getLogger(__name__)
KINDS = ("orders", "products", "customers")
_MODELS: dict[str, type[BaseModel]] = {"orders": OrderIn, "products": ProductIn, "customers": CustomerIn}
_KEYS = {"orders": "id", "products": "sku", "customers": "id"}
_CHUNK = 2000
CLOCK_SKEW = dt.timedelta(minutes=5)  # an updated_at further ahead is taken as the arrival time
Progress = Callable[[int], None]


def content_hash(raw: Any) -> str:
    """Identity of a snapshot as sent. Key order counts: a shop that reorders keys only costs a
    full comparison (the diff then finds nothing), never a wrong answer."""
    return hashlib.blake2b(orjson.dumps(raw), digest_size=16).hexdigest()


@dataclass
class Item:
    kind: str
    index: int
    key: str
    raw: Any
    hash: str
    data: dict[str, Any] | None = None  # validated JSON form; None while unchanged
    maybe_nul: bool = False  # its JSON bytes, read for the hash, hold a \u0000 escape


@dataclass
class Counts:
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    rejected: int = 0


@dataclass
class RunResult:
    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    run_id: int | None = None
    dry_run: bool = False

    def order_result(self, key: str) -> dict[str, Any]:
        return self.orders.setdefault(key, {"order": key, "stale": False, "changes": [], "messages": []})

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "dry_run": self.dry_run,
            "counts": {kind: vars(count) for kind, count in self.counts.items()},
            "changes": [
                {"order": key, **change}
                for key, result in self.orders.items()
                for change in result["changes"]
            ],
            "messages": self.messages,
            "rejected": self.rejected,
        }


def _validate(
    kind: str, item: Item, prefix: Sequence[Any], context: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    try:
        model = _MODELS[kind].model_validate(item.raw, context=context)
    except ValidationError as exc:
        return pydantic_errors(exc, prefix)
    item.data = model.model_dump(mode="json")
    # the bytes were looked at for the hash; the walk only when they may hold one (fields refuse
    # it with their own error above; this catches free JSON, keys included)
    if item.maybe_nul and _has_nul(item.data):
        item.data = None
        return [{"loc": [*prefix], "msg": "contains a NUL character (\\u0000), which cannot be stored"}]
    return []


def _hash_of(raw: Any) -> tuple[str, bool]:
    """The snapshot's content hash, and whether its JSON may hold U+0000 (from the same bytes)."""
    data = raw.data if isinstance(raw, RawLine) else orjson.dumps(raw)
    return hashlib.blake2b(data, digest_size=16).hexdigest(), _NUL in data


_NUL = b"\\u0000"  # how JSON writes U+0000, which PostgreSQL cannot store in text or jsonb


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _parse(kind: str, index: int, raw: Any) -> tuple[Any, list[dict[str, Any]]]:
    if not isinstance(raw, RawLine):
        return raw, []
    try:
        obj = orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        return None, [{"loc": [kind, index], "msg": f"line {raw.number}: not valid JSON ({exc.msg})"}]
    if isinstance(obj, dict):
        obj.pop("kind", None)
    return obj, []


def _chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _collect(
    kind: str,
    raws: Iterable[Any],
    result: RunResult,
    progress: Progress | None = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[list[Item], list[dict[str, Any]]]:
    """Validate what differs from what is stored, in chunks, keeping nothing of the rest.

    An order whose exact content (by hash) is already stored is counted unchanged without being
    parsed or validated: that is what makes a full re-sync cheap.
    """
    key_field = _KEYS[kind]
    counts = result.counts[kind]
    valid: list[Item] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for chunk in _chunks(enumerate(raws), _CHUNK):
        hashed = [_hash_of(raw) for _, raw in chunk]
        known = _known_order_hashes([digest for digest, _ in hashed]) if kind == "orders" else set()
        for (index, raw), (digest, maybe_nul) in zip(chunk, hashed, strict=True):
            counts.seen += 1
            if digest in known:
                counts.unchanged += 1
                continue
            obj, item_errors = _parse(kind, index, raw)
            key = ident(obj.get(key_field)) if isinstance(obj, dict) else None
            item = Item(kind, index, key if isinstance(key, str) else "", obj, digest, maybe_nul=maybe_nul)
            if not item_errors and item.key in seen:
                item_errors = [{"loc": [kind, index, key_field], "msg": "appears more than once in this run"}]
            if not item_errors:
                item_errors = _validate(kind, item, [kind, index], context)
            item.raw = None
            if item_errors:
                counts.rejected += 1
                errors.extend(item_errors)
                result.rejected.append(
                    {"kind": kind, "index": index, "id": item.key or None, "errors": item_errors}
                )
                continue
            seen.add(item.key)
            valid.append(item)
        if progress is not None:
            progress(len(chunk))
    return valid, errors


def _known_order_hashes(hashes: list[str]) -> set[str]:
    table = connection.ops.quote_name(Order._meta.db_table)
    marks = ", ".join(["%s"] * len(hashes))
    sql = f"SELECT snapshot_hash FROM {table} WHERE snapshot_hash IN ({marks})"
    with connection.cursor() as cursor:
        cursor.execute(sql, hashes)
        return {row[0] for row in cursor.fetchall()}


def _fetch(model: Any, field_name: str, keys: Iterable[str], lock: bool) -> dict[str, Any]:
    keys = list(dict.fromkeys(keys))
    found: dict[str, Any] = {}
    for start in range(0, len(keys), _CHUNK):
        query = model.objects.filter(**{f"{field_name}__in": keys[start : start + _CHUNK]})
        if lock and connection.features.has_select_for_update:
            query = query.select_for_update()
        found.update((getattr(obj, field_name), obj) for obj in query)
    return found


def _customer_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "email": data["email"],
        "first_name": data.get("first_name") or "",
        "last_name": data.get("last_name") or "",
        "language": (data.get("language") or "")[:8],
        "country": (data.get("country") or "").upper(),
        "newsletter_opt_in": bool(data.get("newsletter_opt_in")),
        "newsletter_opt_in_at": data.get("newsletter_opt_in_at"),
        "registered_at": data.get("created_at"),
        "data": dict(data),
        "data_hash": content_hash(data),
    }


_CUSTOMER_FIELDS = tuple(
    _customer_fields({"email": "", "created_at": None}).keys()  # the columns an upsert writes
)


def upsert_customers(datas: Iterable[Mapping[str, Any]], counts: Counts | None = None) -> dict[str, Customer]:
    """Create or update customers (last one wins for a repeated id); returns them by id."""
    latest = {data["id"]: data for data in datas}
    existing = _fetch(Customer, "external_id", latest, lock=True)
    new, changed = [], []
    arrived = timezone.now()
    for key, data in latest.items():
        fields = _customer_fields(data)
        customer = existing.get(key)
        if customer is not None and data.get("newsletter_opt_in") is None:
            # data that says nothing of consent (a WooCommerce order) leaves it as it is
            fields["newsletter_opt_in"] = customer.newsletter_opt_in
            fields["newsletter_opt_in_at"] = customer.newsletter_opt_in_at
        elif fields["newsletter_opt_in"] and not fields["newsletter_opt_in_at"]:
            # SPEC 3: the time it arrived when the shop sends none (newsletters count consent from
            # it); a customer who was out (unsubscribed) stays out until the shop names a time
            if customer is None:
                fields["newsletter_opt_in_at"] = arrived
            elif customer.newsletter_opt_in:
                fields["newsletter_opt_in_at"] = customer.newsletter_opt_in_at or arrived
        if customer is None:
            customer = Customer(external_id=key, **fields)
            new.append(customer)
            existing[key] = customer
        elif customer.data_hash != fields["data_hash"]:
            for name, value in fields.items():
                setattr(customer, name, value)
            changed.append(customer)
    if counts is not None:
        counts.new += len(new)
        counts.changed += len(changed)
    Customer.objects.bulk_create(new, batch_size=_CHUNK)
    now = timezone.now()
    for customer in changed:
        customer.updated_at = now
    fast_update(changed, [*_CUSTOMER_FIELDS, "updated_at"])
    return existing


class _Planner:
    """Turns decisions into history rows and outbox drafts for one run."""

    def __init__(self, settings: StoreSettings, run: SyncRun, result: RunResult, now: dt.datetime):
        self.settings = settings
        self.switches = settings.switches()
        self.meaning = settings.meaning()
        self.run = run
        self.result = result
        self.now = now
        self.events: list[tuple[OrderEvent, str | None]] = []
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
        entry = self.result.order_result(order.external_id)
        for change, outcome in decision.outcomes:
            notification = outcome.partition(":")[2] if outcome.startswith("queued:") else None
            event = OrderEvent(
                order=order,
                run=self.run,
                at=self.now,
                rule=change.rule,
                before=change.before,
                after=change.after,
                line=change.line or "",
                shipment=change.shipment or "",
                description=change.description,
                outcome=outcome,
                before_meaning=change.before_meaning or "",
                after_meaning=change.after_meaning or "",
            )
            self.events.append((event, notification))
            entry["changes"].append({**change.as_dict(), "outcome": outcome})
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

    def flush(self, orders: Sequence[Order]) -> None:
        messages = outbox.queue(self.drafts, self.settings)
        by_order_notification: dict[tuple[int, str], Message] = {}
        for message, draft in zip(messages, self.drafts, strict=True):
            assert draft.order is not None
            by_order_notification[(draft.order.pk, draft.notification)] = message
            summary = outbox.summary(message)
            self.result.messages.append({"order": draft.order.external_id, **summary})
            self.result.order_result(draft.order.external_id)["messages"].append(summary)
        for event, notification in self.events:
            if notification:
                event.message = by_order_notification.get((event.order.pk, notification))
        OrderEvent.objects.bulk_create([event for event, _ in self.events], batch_size=_CHUNK)
        _sync_backorder_lines(orders)


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


def _sync_backorder_lines(orders: Sequence[Order]) -> None:
    ids = [order.pk for order in orders]
    for start in range(0, len(ids), _CHUNK):
        BackorderLine.objects.filter(order_id__in=ids[start : start + _CHUNK]).delete()
    BackorderLine.objects.bulk_create(
        [
            BackorderLine(order=order, sku=sku)
            for order in orders
            for sku in sorted(changes_mod.backordered_skus(order.snapshot))
        ],
        batch_size=_CHUNK,
    )


def _stale(updated_at: dt.datetime, order: Order, latest: dt.datetime) -> bool:
    """Older than the stored snapshot. A stored time beyond the skew limit (kept from before
    clock skew was handled) never makes a newer snapshot stale."""
    return order.updated_at <= latest and updated_at < order.updated_at


OWN_SHIPMENT = "shopmail"  # a shipment's ``created_in`` when staff or a drop-shipper entered it


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


def _apply_orders(items: list[Item], planner: _Planner, silent: bool) -> list[Order]:
    result, settings = planner.result, planner.settings
    latest = planner.now + CLOCK_SKEW
    existing = _fetch(Order, "external_id", (item.key for item in items), lock=True)
    customers = upsert_customers(
        item.data["customer"]
        for item in items
        if item.data
        and not (
            item.key in existing
            and _stale(dt.datetime.fromisoformat(item.data["updated_at"]), existing[item.key], latest)
        )
    )
    new_orders: list[Order] = []
    updated: list[Order] = []
    plans: list[tuple[Order, list[Change], bool, str | None]] = []
    counts = result.counts["orders"]
    for item in items:
        data = item.data
        assert data is not None
        updated_at = dt.datetime.fromisoformat(data["updated_at"])
        order = existing.get(item.key)
        if order is not None and _stale(updated_at, order, latest):
            counts.stale += 1
            result.order_result(item.key)["stale"] = True
            continue
        if order is not None:
            data = keep_own_shipments(order.snapshot, data)
        found = changes_mod.diff(order.snapshot if order else None, data, planner.meaning)
        if updated_at > latest:  # a shop clock ahead: the snapshot counts as of its arrival
            found.append(
                Change(
                    "clock_skew",
                    data["updated_at"],
                    planner.now.isoformat(),
                    description=f"updated_at {data['updated_at']} is ahead of the clock; taken as the "
                    f"arrival time {planner.now.isoformat()}",
                )
            )
            updated_at = planner.now
            result.order_result(item.key)["clock_skew"] = True
        fields = {
            "number": data.get("number") or item.key,
            "customer": customers[data["customer"]["id"]],
            "status": data["status"],
            "created_at": dt.datetime.fromisoformat(data["created_at"]),
            "updated_at": updated_at,
            "snapshot": data,
            "snapshot_hash": item.hash,
        }
        suppress = SILENT if silent else None
        if order is None:
            counts.new += 1
            order = Order(external_id=item.key, **fields)
            new_orders.append(order)
            if suppress is None and fields["created_at"] < settings.notify_since:
                suppress = NOTIFY_SINCE
        else:
            counts.changed += 1
            for name, value in fields.items():
                setattr(order, name, value)
            updated.append(order)
        plans.append((order, found, order.pk is None, suppress))
        result.order_result(item.key)
    for order, found, is_new, suppress in plans:
        planner.plan(order, found, is_new=is_new, suppress=suppress)
    Order.objects.bulk_create(new_orders, batch_size=_CHUNK)
    now = timezone.now()
    for order in updated:
        order.stored_at = now
    columns = ["number", "customer", "status", "created_at", "updated_at", "snapshot", "snapshot_hash"]
    fast_update(updated, [*columns, "notify_state", "stored_at"])
    return [order for order, _, _, _ in plans]


def _apply_products(items: list[Item], planner: _Planner, silent: bool) -> list[Order]:
    """Upsert products; a restock tells every open order waiting for that SKU."""
    existing = _fetch(Product, "sku", (item.key for item in items), lock=True)
    counts = planner.result.counts["products"]
    restocked: dict[str, str] = {}
    new, changed = [], []
    for item in items:
        data = item.data
        assert data is not None
        product = existing.get(item.key)
        fields = {
            "name": data.get("name") or "",
            "stock_quantity": data["stock_quantity"],
            "download_instructions": data.get("download_instructions") or "",
            "data": data,
        }
        if product is None:
            counts.new += 1
            new.append(Product(sku=item.key, **fields))
            continue
        if product.data == data:
            counts.unchanged += 1
            continue
        counts.changed += 1
        if changes_mod.restocked(product.stock_quantity, data["stock_quantity"]):
            product.restocks += 1
            restocked[item.key] = fields["name"]
        for name, value in fields.items():
            setattr(product, name, value)
        changed.append(product)
    Product.objects.bulk_create(new, batch_size=_CHUNK)
    fast_update(changed, ["name", "stock_quantity", "download_instructions", "data", "restocks"])
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
            for change in changes_mod.back_in_stock(order.snapshot, sku, restocked[sku])
        ]
        planner.plan(order, found, is_new=False, suppress=SILENT if silent else None)
        touched.append(order)
    fast_update(touched, ["notify_state"])
    return touched


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
) -> RunResult:
    """One run: validates everything first, then applies it in a single transaction.

    A run that meets a dropped database connection (a server restart) before its commit is
    retried once on a new connection, transparently: the transaction was rolled back with the
    connection, and a run is idempotent (content hashes, unique message keys)."""
    # a run over lists can be read again; a stream (a large sync file) is not retried
    rereadable = all(isinstance(items, Sequence) for items in (orders, products, customers))
    reconnected = False
    for attempt in range(3):
        try:
            return _ingest_once(orders, products, customers, silent, dry_run, partial, source, progress)
        except (OperationalError, InterfaceError):
            if reconnected or not rereadable or not _connection_lost():
                raise
            reconnected = True
            log.warning("ingest met a dropped database connection; retrying once on a new one")
            connection.close()
        except IntegrityError:
            # Two runs created the same new order or customer at once; the loser retries and
            # now sees the winner's rows, so the facts it carries are not announced twice.
            if attempt == 2:
                raise
            log.info("ingest conflict with a concurrent run; retrying", extra={"attempt": attempt + 1})
    raise AssertionError("unreachable")


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
) -> RunResult:
    result = RunResult(dry_run=dry_run)
    errors: list[dict[str, Any]] = []
    collected: dict[str, list[Item]] = {}
    context = {"time_zone": StoreSettings.load().zone()}  # zone-less times are read in it (SPEC 2)
    for kind, raws in (("orders", orders), ("products", products), ("customers", customers)):
        collected[kind], kind_errors = _collect(kind, raws, result, progress=progress, context=context)
        errors.extend(kind_errors)
    if errors and not partial:
        raise Rejected(errors)
    now = timezone.now()
    with transaction.atomic():
        settings = StoreSettings.load()
        run = SyncRun.objects.create(source=source, dry_run=dry_run, silent=silent, started_at=now)
        result.run_id = run.pk
        planner = _Planner(settings, run, result, now)
        customer_items = collected["customers"]
        upsert_customers((item.data for item in customer_items if item.data), result.counts["customers"])
        customer_counts = result.counts["customers"]
        customer_counts.unchanged = customer_counts.seen - customer_counts.new - customer_counts.changed
        customer_counts.unchanged -= customer_counts.rejected
        touched = _apply_orders(collected["orders"], planner, silent)
        touched += _apply_products(collected["products"], planner, silent)
        planner.flush(touched)
        run.summary = {k: v for k, v in result.summary().items() if k in ("counts", "rejected")}
        run.summary["messages"] = len(result.messages)
        run.save(update_fields=["summary"])
        if dry_run:
            transaction.set_rollback(True)
            for message in result.messages:
                message["id"] = None
            for entry in result.orders.values():
                for message in entry["messages"]:
                    message["id"] = None
            result.run_id = None
    return result
