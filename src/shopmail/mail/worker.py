"""The delivery worker: claim due messages, compose them once, send them, record each outcome.

* A claim is one atomic statement (``WITH ... UPDATE ... RETURNING``): ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, SQLite's single writer. A claim is a lease; one left by a dead (or
  frozen) worker is taken over when it expires (``SHOPMAIL_CLAIM_TIMEOUT`` seconds, default 300).
* Order and staff mail go before bulk mail (priority), and within that new mail goes before
  retries, so a backlog of deferred mail never starves it. A commit that queues mail wakes
  every worker at once (``mail.wakeup``); ``poll`` (0.5 s by default) still covers retries
  and expired leases.
* Outcomes are written after the server's reply, in short transactions; nothing is marked
  sent that the server did not accept. A crash between the reply and the write means the
  message is sent again later with the same Message-ID and bytes (at-least-once).
* A message whose template cannot render is ``held`` with the reason and never blocks others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings as django_settings
from django.db import close_old_connections, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from shopmail.db import column, db_value, fast_update, insert_rows, int_list, raw_rows, table, with_pks
from shopmail.domain import mime
from shopmail.domain.retry import Outcome, RetryPolicy
from shopmail.mail import compose as compose_mod
from shopmail.mail.models import Attempt, Message, Payload, Status
from shopmail.mail.transports import Envelope, SendResult, Transport, TransportConfigError, make_transport
from shopmail.mail.wakeup import WAKE, Listener
from shopmail.store import feed
from shopmail.store.models import StoreSettings

log = logging.getLogger("shopmail.worker")
T = TypeVar("T")


def claim_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=float(os.environ.get("SHOPMAIL_CLAIM_TIMEOUT", "300")))


def retry_policy() -> RetryPolicy:
    lifetime = float(os.environ.get("SHOPMAIL_RETRY_LIFETIME", str(3 * 86400)))
    initial = float(os.environ.get("SHOPMAIL_RETRY_INITIAL", "60"))
    return RetryPolicy(
        initial=dt.timedelta(seconds=initial),
        lifetime=dt.timedelta(seconds=lifetime),
        max_delay=dt.timedelta(seconds=max(initial, float(os.environ.get("SHOPMAIL_RETRY_MAX", "3600")))),
    )


def claim(worker_id: str, limit: int, now: dt.datetime | None = None) -> list[int]:
    """Atomically take up to ``limit`` due messages for this worker; returns their ids, ascending.

    Order: priority (order and staff mail before bulk mail), then new mail before retries,
    then due time. Each kind of due message (queued, deferred, a lease left by a dead worker)
    is read in the order of the index (status, priority, due_at) with its own LIMIT, and the
    three are merged, so a claim reads ~``limit`` rows however long the queue is (one ORDER BY
    over every due message sorted the whole queue for each batch).

    One statement (``WITH ... UPDATE ... RETURNING``; PostgreSQL, SQLite 3.35+): the rows are
    chosen, locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and leased in the database's own
    implicit transaction, which ends with the statement. A worker that freezes after sending
    it holds no locks (with a transaction around several statements, a worker stopped between
    them kept its rows locked from every other worker until it resumed).
    """
    now = now or timezone.now()
    if not limit:
        return []

    def col(name: str) -> str:
        return column(Message, name)

    fields = ", ".join(col(name) for name in ("pk", "priority", "attempts", "due_at"))
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    order = f"ORDER BY {col('priority')}, {col('due_at')}, {col('pk')} LIMIT {int(limit)}{lock}"
    kinds = (  # identifiers from the model's metadata, the limit an int, values as parameters
        f"{col('status')} = %s AND {col('due_at')} <= %s",
        f"{col('status')} = %s AND {col('due_at')} <= %s",
        f"{col('status')} = %s AND {col('claimed_until')} < %s",
    )
    due = " UNION ALL ".join(
        f"SELECT * FROM (SELECT {fields} FROM {table(Message)} WHERE {where} {order}) AS k{i}"
        for i, where in enumerate(kinds)
    )
    # new mail (no attempt yet) before retries
    retry = f"CASE WHEN {col('attempts')} = 0 THEN 0 ELSE 1 END"
    sql = (
        f"WITH due AS ({due}) "
        f"UPDATE {table(Message)} SET {col('status')} = %s, {col('claimed_by')} = %s, "
        f"{col('claimed_until')} = %s "
        f"WHERE {col('pk')} IN (SELECT {col('pk')} FROM due "
        f"ORDER BY {col('priority')}, {retry}, {col('due_at')}, {col('pk')} LIMIT {int(limit)}) "
        f"RETURNING {col('pk')}"
    )
    at = db_value(Message, "due_at", now)
    params = [Status.QUEUED, at, Status.DEFERRED, at, Status.SENDING, at]
    params += [Status.SENDING, worker_id, db_value(Message, "claimed_until", now + claim_timeout())]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


@dataclass
class Prepared:
    envelopes: list[Envelope] = field(default_factory=list)
    held: int = 0


@dataclass
class _Taken:
    """A claimed batch: the settings it was prepared with, its ids, envelopes, lease start."""

    store: StoreSettings
    ids: list[int]
    prepared: Prepared
    leased_at: float


def prepare(ids: Sequence[int], store: StoreSettings) -> Prepared:
    """Compose what has not been composed yet; hold what cannot be rendered."""
    prepared = Prepared()
    sender = mime.normalize_email(store.from_email)
    # Read in any order and sorted here (order and staff mail first): an ORDER BY made SQLite
    # copy every message's bytes into a sorter. Values as the driver returns them (no converters).
    batch = with_pks(Message.objects.all(), ids).order_by()
    rows = raw_rows(batch.values_list("priority", "pk", "to_email", "payload__raw"))
    rows.sort(key=lambda row: (row[0], row[1]))
    later = set()  # not composed yet: bulk mail, or mail whose template failed when it was queued
    for _, pk, to_email, stored in rows:
        if stored is None:
            later.add(pk)
        else:  # envelope addresses as the headers have them (IDNA domains)
            prepared.envelopes.append(
                Envelope(str(pk), sender, (mime.normalize_email(to_email),), bytes(stored), wire_ready=True)
            )
    if not later:
        return prepared
    payloads = {p.pk: p for p in with_pks(Payload.objects.all(), later)}
    sources: dict[Any, Any] = {}
    composed_now: list[Payload] = []
    subject_only: list[Payload] = []  # bulk mail (Composed.keep False): composed again for a retry
    for message in with_pks(Message.objects.all(), later).order_by("priority", "id"):
        payload = payloads[message.pk]
        try:
            composed = compose_mod.compose(message, payload, store, sources)
        except Exception as exc:  # any failure to build this one message holds it, nothing else
            reason = f"{type(exc).__name__}: {exc}"
            problems = getattr(exc, "problems", None)
            if problems:
                reason = "; ".join(
                    f"{p.part} line {p.line}: {p.reason}" if p.line else f"{p.part}: {p.reason}"
                    for p in problems
                )
            Message.objects.filter(pk=message.pk).update(
                status=Status.HELD, last_error=reason[:2000], claimed_by="", claimed_until=None
            )
            log.warning("message held: %s", reason, extra={"message_id": message.pk})
            prepared.held += 1
            continue
        payload.subject, payload.template_version = composed.subject, composed.version
        if composed.keep:
            payload.text, payload.html, payload.raw = composed.text, composed.html, composed.raw
            composed_now.append(payload)
        else:
            subject_only.append(payload)
        prepared.envelopes.append(
            # built by domain.mime: sent as it is
            Envelope(str(message.pk), sender, (mime.normalize_email(message.to_email),), composed.raw, True)
        )
    with transaction.atomic():  # the composed bytes of the whole batch in one write
        fast_update(composed_now, ["subject", "text", "html", "raw", "template_version"])
        fast_update(subject_only, ["subject", "template_version"])
    return prepared


def renew(ids: Sequence[int], worker_id: str) -> set[int]:
    """Extend this worker's lease on the messages it still holds; returns those ids."""
    mine = held(ids, worker_id)
    with transaction.atomic():
        mine.update(claimed_until=timezone.now() + claim_timeout())
        return set(mine.values_list("pk", flat=True))


def record(results: Sequence[SendResult], worker_id: str, policy: RetryPolicy) -> dict[str, int]:
    """Write each outcome (after the server's reply) and the attempt log.

    A message another worker took over meanwhile keeps the status that worker gives it; only
    the attempt is logged, so a late "deferred" can never undo someone else's "sent".
    The common case, accepted messages, is one UPDATE for all of them.
    """
    now = timezone.now()
    tally = {"sent": 0, "deferred": 0, "failed": 0}
    by_id = {int(r.key): r for r in results}
    attempts: list[tuple[int, Any, str, int | None, str, str]] = []
    at = db_value(Attempt, "at", now)
    with transaction.atomic():
        sent = _mark_sent([pk for pk, r in by_id.items() if r.outcome == Outcome.SENT], worker_id, now)
        tally["sent"] = len(sent)
        unsent = list(  # read once, with what the outcome needs
            held([pk for pk, r in by_id.items() if r.outcome != Outcome.SENT], worker_id).select_related(
                "order"
            )
        )
        mine = set(sent) | {message.pk for message in unsent}
        if unsent:
            _record_unsent(unsent, by_id, now, policy, tally)
        for pk, result in by_id.items():
            reply = result.reply[:4000]
            if pk not in mine:
                reply = f"(late reply; message taken over) {result.reply}"[:4000]
            elif result.rejected:
                reply += "\n" + "\n".join(
                    f"rejected {r.recipient}: {r.code} {r.reply}" for r in result.rejected
                )
            attempts.append((pk, at, str(result.outcome), result.code, reply, worker_id))
        insert_rows(Attempt, ["message", "at", "outcome", "code", "reply", "worker"], attempts)
    by_code: dict[int | None, list[int]] = {}
    for pk in sent:
        by_code.setdefault(by_id[pk].code, []).append(pk)
    for code, pks in by_code.items():  # a line per message, written at once (logs.JsonFormatter)
        log.info("message %s sent", extra={"each": pks, "status": Status.SENT, "code": code})
    return tally


def _mark_sent(ids: Sequence[int], worker_id: str, now: dt.datetime) -> list[int]:
    """Mark the accepted messages this worker still holds sent; returns their ids.

    One ``UPDATE ... RETURNING`` (SQLite 3.35+, PostgreSQL): the check that the claim is still
    ours and the write are the same statement.
    """
    if not ids:
        return []

    def col(name: str) -> str:
        return column(Message, name)

    # identifiers from the model's metadata, integer ids written as such, values as parameters
    sql = (
        f"UPDATE {table(Message)} SET {col('status')} = %s, {col('sent_at')} = %s, "
        f"{col('last_error')} = '', {col('claimed_by')} = '', {col('claimed_until')} = NULL, "
        f"{col('attempts')} = {col('attempts')} + 1 "
        f"WHERE {col('pk')} IN ({int_list(ids)}) AND {col('claimed_by')} = %s AND {col('status')} = %s "
        f"RETURNING {col('pk')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.SENT, db_value(Message, "sent_at", now), worker_id, Status.SENDING])
        return sorted(row[0] for row in cursor.fetchall())


def held(ids: Sequence[int], worker_id: str) -> QuerySet[Message]:
    """Those of the messages that this worker's claim still holds."""
    return with_pks(Message.objects.all(), ids).filter(claimed_by=worker_id, status=Status.SENDING)


def _record_unsent(
    messages: Sequence[Message],
    by_id: dict[int, SendResult],
    now: dt.datetime,
    policy: RetryPolicy,
    tally: dict[str, int],
) -> None:
    """Deferred and failed messages (still held by this worker), one by one (rare: each has
    its own due time and reply)."""
    for message in messages:
        result = by_id[message.pk]
        message.attempts += 1
        message.claimed_by, message.claimed_until = "", None
        reply = result.reply[:4000]
        if result.outcome == Outcome.DEFER and not policy.gives_up(message.created_at, now):
            message.status = Status.DEFERRED
            message.due_at = now + policy.next_delay(message.attempts)
            message.last_error = reply
            tally["deferred"] += 1
        else:
            message.status, message.last_error = Status.FAILED, reply
            tally["failed"] += 1
            feed.record(
                "message.failed",
                {
                    "message": message.pk,
                    "notification": message.notification,
                    "to": message.to_email,
                    "order": message.order.external_id if message.order else None,
                    "reply": reply[:500],
                    "attempts": message.attempts,
                },
            )
            log.error(
                "message %s failed after %s attempt(s): %s",
                message.pk,
                message.attempts,
                reply[:200],
                extra={"message_id": message.pk},
            )
        log.info(
            "message %s %s",
            message.pk,
            message.status,
            extra={
                "message_id": message.pk,
                "status": message.status,
                "code": result.code,
                "attempt": message.attempts,
            },
        )
    fast_update(
        messages, ["attempts", "claimed_by", "claimed_until", "status", "sent_at", "due_at", "last_error"]
    )


def release(ids: Sequence[int], reason: str, worker_id: str) -> None:
    """Give claimed messages back untouched (a configuration error is not their fault)."""
    held(ids, worker_id).update(
        status=Status.QUEUED,
        claimed_by="",
        claimed_until=None,
        due_at=timezone.now() + dt.timedelta(seconds=15),
        last_error=reason[:2000],
    )


def release_now(ids: Sequence[int], worker_id: str) -> None:
    """Give claimed, untouched messages back, due at once (a worker stopping)."""
    held(ids, worker_id).update(status=Status.QUEUED, claimed_by="", claimed_until=None)


def _close_connection() -> None:
    close_old_connections()
    connection.close()  # looked up here, in the worker's database thread


@dataclass
class WorkerState:
    """What the worker is doing, for `/metrics`, the dashboard and logs."""

    worker_id: str = ""
    transport: str = ""
    config_error: str = ""
    totals: dict[str, int] = field(default_factory=lambda: {"sent": 0, "deferred": 0, "failed": 0, "held": 0})


STATE = WorkerState()


class Worker:
    def __init__(
        self,
        *,
        concurrency: int = 4,
        batch_size: int | None = None,
        poll: float = 0.5,
        stop: threading.Event | None = None,
    ):
        self.concurrency = max(1, concurrency)
        self.batch_size = batch_size or max(20, min(self.concurrency * 64, 1024))
        # messages per send_many call (and per write of outcomes); the SMTP transport pipelines
        # each connection's share of a chunk back to back. A chunk ends when its slowest
        # connection has its last reply: 32 a connection (not 16) made L4 ~10 % faster at 16
        # connections (bench/delivery.py)
        self.chunk_size = min(self.concurrency * 32, 512)
        self._next: asyncio.Future[_Taken] | None = None
        # outcomes of the previous batch still being written: waited for at the end of the next
        # batch (not of their own, which left every connection idle for the last write)
        self._writing: list[asyncio.Future[None]] = []
        self.poll = poll
        self.stop = stop or threading.Event()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = retry_policy()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopmail-db")
        # a second connection reads and composes the next batch while the first one writes
        # outcomes: the database's own work (reading the stored bytes) runs without the GIL
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopmail-db-read")
        self._transport: Transport | None = None
        self._transport_config: dict[str, Any] | None = None
        self._listener = Listener(self.stop)  # woken between looks when mail is queued (mail.wakeup)
        STATE.worker_id = self.worker_id

    async def _in_db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run on the writing connection's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    async def _in_reader(self, fn: Callable[..., T], *args: Any) -> T:
        """Run on the reading connection's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    async def _current_transport(self, store: StoreSettings) -> Transport:
        config = dict(store.transport)
        if config.get("kind") == "smtp":
            config.setdefault("pool_size", self.concurrency)
        if self._transport is None or config != self._transport_config:
            if self._transport is not None:
                await self._transport.close()
            self._transport = make_transport(config, django_settings.DATA_DIR)
            self._transport_config = config
            STATE.transport = str(config.get("kind"))
        return self._transport

    def _claim(self) -> tuple[StoreSettings, list[int], float]:
        store = StoreSettings.load()  # a batch is prepared and sent with the settings read here
        leased_at = time.monotonic()  # before the claim: the lease is never thought longer than it is
        return store, claim(self.worker_id, self.batch_size), leased_at

    async def _take(self) -> _Taken:
        """Load the settings and claim a batch (writing thread), then prepare it (reading thread)."""
        store, ids, leased_at = await self._in_db(self._claim)
        prepared = await self._in_reader(prepare, ids, store) if ids else Prepared()
        return _Taken(store, ids, prepared, leased_at)

    async def run_once(self) -> int:
        """Claim, send and record one batch; returns how many messages were claimed.

        While a batch is on the wire the database threads claim and prepare the next one, and
        the outcomes of each chunk are written as soon as it is sent: sending never waits for
        the database. The last outcomes of a batch are waited for at the end of the next batch
        (waiting at the end of their own left every connection idle for that write), and
        before the worker sleeps or stops.
        """
        if self._next is not None:
            taken = await self._next
            self._next = None
        else:
            taken = await self._take()
        store, ids, prepared, leased_at = taken.store, taken.ids, taken.prepared, taken.leased_at
        if not ids:
            await self._written()
            return 0
        half_lease = claim_timeout().total_seconds() / 2
        STATE.totals["held"] += prepared.held
        if not prepared.envelopes:
            return len(ids)
        self._next = asyncio.ensure_future(self._take())
        attempted: set[str] = set()
        writes: list[asyncio.Future[None]] = []
        pending = list(prepared.envelopes)
        try:
            transport = await self._current_transport(store)
            while pending:
                if time.monotonic() - leased_at > half_lease:
                    # Past half the lease: renew it, dropping what was taken over meanwhile.
                    # Before that nobody can take the messages, so no check is needed.
                    owned = await self._in_db(renew, [int(e.key) for e in pending], self.worker_id)
                    leased_at = time.monotonic()
                    pending = [e for e in pending if int(e.key) in owned]
                    if not pending:
                        break
                chunk, pending = pending[: self.chunk_size], pending[self.chunk_size :]
                # The transport starts no new message after half the lease: a worker frozen past
                # its lease resends at most what was on the wire when it froze.
                deadline = leased_at + half_lease
                results = await transport.send_many(
                    chunk, deadline=deadline if deadline > time.monotonic() else None
                )
                attempted.update(r.key for r in results)
                if len(results) < len(chunk):
                    pending = [e for e in chunk if e.key not in attempted] + pending
                if results:  # written while the next chunk goes out
                    writes.append(self._record(results))
            # this batch's last outcomes are written while the next batch goes out
            await self._written(writes)
        except TransportConfigError as exc:
            await asyncio.gather(*writes)
            done = [r for r in exc.results if r is not None]
            if done:
                await self._record(done)
            attempted.update(r.key for r in done)
            untouched = [int(e.key) for e in prepared.envelopes if e.key not in attempted]
            await self._in_db(release, untouched, str(exc), self.worker_id)
            STATE.config_error = str(exc)
            log.error("transport configuration error, messages stay queued: %s", exc)
            await asyncio.sleep(min(5.0, self.poll * 10))
            return len(ids)
        except (ValueError, OSError) as exc:
            await asyncio.gather(*writes)
            untouched = [int(e.key) for e in prepared.envelopes if e.key not in attempted]
            await self._in_db(release, untouched, f"transport: {exc}", self.worker_id)
            STATE.config_error = str(exc)
            log.error("transport could not be set up, messages stay queued: %s", exc)
            await asyncio.sleep(min(5.0, self.poll * 10))
            return len(ids)
        STATE.config_error = ""
        return len(ids)

    async def _written(self, writes: list[asyncio.Future[None]] | None = None) -> None:
        """Wait for the previous batch's outcomes to be written; ``writes`` (this batch's) are
        waited for at the end of the next one, or when the queue is empty."""
        previous, self._writing = self._writing, list(writes or [])
        await asyncio.gather(*previous)

    def _record(self, results: Sequence[SendResult]) -> asyncio.Future[None]:
        """Write the outcomes on the writing thread, handed to it now: any later database call
        of this worker (a lease renewal above all) sees them written."""
        written = asyncio.get_running_loop().run_in_executor(
            self._db, record, results, self.worker_id, self.policy
        )
        return asyncio.ensure_future(self._counted(written))

    @staticmethod
    async def _counted(written: asyncio.Future[dict[str, int]]) -> None:
        for key, count in (await written).items():
            STATE.totals[key] += count

    async def _give_back_next(self) -> None:
        """Stopping: the batch claimed ahead goes back to the queue untouched."""
        if self._next is None:
            return
        ids = (await self._next).ids
        self._next = None
        if ids:
            await self._in_db(release_now, ids, self.worker_id)

    async def run(self, once: bool = False) -> None:
        log.info("worker %s started", self.worker_id)
        try:
            while not self.stop.is_set():
                claimed = await self.run_once()
                if claimed:
                    continue
                if once:
                    break
                await asyncio.get_running_loop().run_in_executor(None, self._listener.wait, self.poll)
                WAKE.clear()
        finally:
            await self._written()
            await self._give_back_next()
            if self._transport is not None:
                await self._transport.close()
            await asyncio.gather(self._in_db(_close_connection), self._in_reader(_close_connection))
            await asyncio.get_running_loop().run_in_executor(None, self._listener.close)
            self._db.shutdown(wait=True)
            self._reader.shutdown(wait=True)
            log.info("worker %s stopped", self.worker_id)


def run_in_thread(stop: threading.Event, concurrency: int = 4) -> threading.Thread:
    """The worker inside `shopmail serve`: its own thread and event loop."""

    def target() -> None:
        asyncio.run(Worker(concurrency=concurrency, stop=stop).run())

    thread = threading.Thread(target=target, name="shopmail-worker", daemon=True)
    thread.start()
    return thread


def drain(concurrency: int = 4) -> None:
    """Send everything that is due now and return (``shopmail worker --once``; tests)."""
    asyncio.run(Worker(concurrency=concurrency).run(once=True))
