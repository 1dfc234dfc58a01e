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
* The worker never dies of its database (ADR 0005): an error in a claim, a prepare or an outcome
  write is logged with its reason, the worker backs off (0.5 s doubling to 30 s), reconnects and
  first writes the outcomes it still holds in memory, then gives back what it had claimed and
  not sent. Accepted messages are also appended to a journal file before their outcome is
  written, so a successor on the same host (the same process restarted, a team member started
  again) marks them sent instead of sending them again after ``kill -9``, and takes over the
  dead worker's claims at once instead of after the claim timeout.
* Each worker writes a heartbeat row (``WorkerBeat``) every few seconds: ``/healthz``,
  ``/metrics`` and the dashboard read those, in whatever process they run.

This module is the loop (claim, prepare, send, record, beat); its parts live beside it:
``mail.leases`` (claims), ``mail.outcomes`` (what the server answered), ``mail.journal`` and
``mail.takeover`` (dead predecessors).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from django.db import Error as DatabaseError
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from shopmail import config
from shopmail.core import periodic
from shopmail.db import fast_update, raw_rows, with_pks
from shopmail.domain import mime
from shopmail.domain.retry import Backoff, Outcome, transport_down
from shopmail.mail import compose as compose_mod
from shopmail.mail import takeover
from shopmail.mail.deliverability import verp
from shopmail.mail.journal import Journal
from shopmail.mail.leases import (
    bring_forward,
    claim,
    claim_timeout,
    release,
    release_mine,
    release_now,
    renew,
)
from shopmail.mail.models import Message, Payload, Status, WorkerBeat
from shopmail.mail.outcomes import record, retry_schedule
from shopmail.mail.takeover import take_over_dead
from shopmail.mail.transports import Envelope, SendResult, Transport, TransportConfigError, make_transport
from shopmail.mail.transports.smtp_batch import ON_ACCEPTED
from shopmail.mail.wakeup import WAKE, Listener
from shopmail.store.models import StoreSettings

log = logging.getLogger("shopmail.worker")
T = TypeVar("T")


BEAT_EVERY = 5.0  # seconds between two heartbeats of a worker
LOOK_FOR_DEAD_EVERY = 60.0  # seconds between two looks for dead workers' claims on this host


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
    bounce_domain = str((store.bounces or {}).get("domain") or "")

    def sender_of(pk: int) -> str:  # VERP (SPEC section 9): a bounce names its message
        return verp.envelope_sender(bounce_domain, pk) if bounce_domain else sender

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
                Envelope(
                    str(pk), sender_of(pk), (mime.normalize_email(to_email),), bytes(stored), wire_ready=True
                )
            )
    if not later:
        return prepared
    payloads = {p.pk: p for p in with_pks(Payload.objects.all(), later)}
    sources: dict[Any, Any] = {}
    composed_now: list[Payload] = []
    subject_only: list[Payload] = []  # bulk mail (Composed.keep False): composed again for a retry
    batch_messages = list(with_pks(Message.objects.all(), later).order_by("priority", "id"))
    try:  # the features' personal parts for the whole batch at once (else each composer reads its own)
        compose_mod.complete([(message, payloads[message.pk]) for message in batch_messages], store)
    except Exception:  # composing message by message still works, or holds the one message
        log.warning("completing a batch's payloads failed; composing them one by one", exc_info=True)
    for message in batch_messages:
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
            Envelope(
                str(message.pk),
                sender_of(message.pk),
                (mime.normalize_email(message.to_email),),
                composed.raw,
                True,
            )
        )
    with transaction.atomic():  # the composed bytes of the whole batch in one write
        busy = _locked_elsewhere([payload.pk for payload in (*composed_now, *subject_only)])
        if busy:
            # Another worker is inside its own write of these payloads: one frozen mid-write
            # whose claim was taken over (its row locks last as long as it stays frozen). They
            # are left out of this batch, still claimed: they go out when the claim expires, by
            # whichever worker holds them then, instead of this worker waiting on the lock.
            composed_now = [payload for payload in composed_now if payload.pk not in busy]
            subject_only = [payload for payload in subject_only if payload.pk not in busy]
            prepared.envelopes = [e for e in prepared.envelopes if int(e.key) not in busy]
            log.warning("%s message(s) locked by another worker's write: left for after the claim", len(busy))
        fast_update(composed_now, ["subject", "text", "html", "raw", "template_version"])
        fast_update(subject_only, ["subject", "template_version", "language"])
    return prepared


def _locked_elsewhere(pks: Sequence[int]) -> set[int]:
    """Of these payloads, the ones another transaction holds locked now (PostgreSQL); the free
    ones are locked for this transaction. SQLite has one writer at a time: nothing to skip."""
    if not pks or not connection.features.has_select_for_update_skip_locked:
        return set()
    free = with_pks(Payload.objects.select_for_update(skip_locked=True), pks).values_list("pk", flat=True)
    return set(pks) - set(free)


def _close_connection() -> None:
    with contextlib.suppress(Exception):  # a connection the server dropped may fail to close
        close_old_connections()
    with contextlib.suppress(Exception):
        connection.close()  # looked up here, in the worker's database thread


@dataclass
class Totals:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    held: int = 0


# After an idle wait ends (mail was queued), wait this much longer before claiming, so the
# e-mails of the orders arriving meanwhile go in the same batch: at 50 orders/s a batch of one
# order's two e-mails paid a claim, a compose pass, a write of the bytes and a write of outcomes
# each (issue 26: `serve` 0.83 -> 0.59 cores; the e-mails' p50 latency 9 -> 46 ms). A worker
# with more due mail than one batch never waits idle, so this costs nothing under load.
LINGER = 0.05


class Worker:
    def __init__(
        self,
        *,
        concurrency: int = 4,
        batch_size: int | None = None,
        poll: float = 0.5,
        stop: threading.Event | None = None,
        linger: float = LINGER,
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
        self._inflight: set[asyncio.Future[None]] = set()  # every outcome write not finished yet
        self._unwritten: dict[str, SendResult] = {}  # outcomes whose write failed: written first
        self.poll = poll
        self.linger = linger
        self.stop = stop or threading.Event()
        self.host = socket.gethostname()
        self.worker_id = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.timings = config.delivery()
        self.schedule = retry_schedule(self.timings)
        self.policy = self.schedule.urgent
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopmail-db")
        # a second connection reads and composes the next batch while the first one writes
        # outcomes: the database's own work (reading the stored bytes) runs without the GIL
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopmail-db-read")
        self._transport: Transport | None = None
        self._transport_config: dict[str, Any] | None = None
        self._listener = Listener(self.stop)  # woken between looks when mail is queued (mail.wakeup)
        self._journal = Journal(self.worker_id)
        self._noted: set[str] = set()  # accepted and in the journal already (transports.smtp.ON_ACCEPTED)
        self._to_journal: list[str] = []  # accepted in this turn of the event loop, written at its end
        self._backoff = Backoff(first=0.5, cap=30.0)
        self._broken = False  # a database error happened: recover before the next claim
        self._down = False  # the transport's server looked down: bring mail forward when it is back
        self.totals = Totals()
        self.transport_kind = ""
        self.config_error = ""
        self.last_error = ""
        self._last_error_at: dt.datetime | None = None
        self._error_written = True
        self._started_at = timezone.now()
        self._beat_at = 0.0
        self._looked_at = 0.0

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
            self.transport_kind = str(config.get("kind"))
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
            next_, self._next = self._next, None
            taken = await next_
        else:
            taken = await self._take()
        store, ids, prepared, leased_at = taken.store, taken.ids, taken.prepared, taken.leased_at
        if not ids:
            await self._written()
            if not self._inflight and not self._unwritten:
                self._journal.clear()  # every accepted message's outcome is in the database
            return 0
        half_lease = claim_timeout().total_seconds() / 2
        self.totals.held += prepared.held
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
                noting = ON_ACCEPTED.set(self._accepted)  # each accepted message into the journal at once
                try:
                    results = await transport.send_many(
                        chunk, deadline=deadline if deadline > time.monotonic() else None
                    )
                finally:
                    ON_ACCEPTED.reset(noting)
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
            self.config_error = str(exc)
            log.error("transport configuration error, messages stay queued: %s", exc)
            await asyncio.sleep(min(5.0, self.poll * 10))
            return len(ids)
        except (ValueError, OSError) as exc:
            await asyncio.gather(*writes)
            untouched = [int(e.key) for e in prepared.envelopes if e.key not in attempted]
            await self._in_db(release, untouched, f"transport: {exc}", self.worker_id)
            self.config_error = str(exc)
            log.error("transport could not be set up, messages stay queued: %s", exc)
            await asyncio.sleep(min(5.0, self.poll * 10))
            return len(ids)
        self.config_error = ""
        return len(ids)

    async def _written(self, writes: list[asyncio.Future[None]] | None = None) -> None:
        """Wait for the previous batch's outcomes to be written; ``writes`` (this batch's) are
        waited for at the end of the next one, or when the queue is empty."""
        previous, self._writing = self._writing, list(writes or [])
        await asyncio.gather(*previous)

    def _accepted(self, key: str) -> None:
        """The server accepted this message just now (its reply read, the chunk still going).
        Written to the journal at the end of this turn of the event loop: one ``write()`` for
        all the replies read in one go (a pipelined connection reads many), not one each."""
        self._noted.add(key)
        self._to_journal.append(key)
        if len(self._to_journal) == 1:
            asyncio.get_running_loop().call_soon(self._flush_journal)

    def _flush_journal(self) -> None:
        keys, self._to_journal = self._to_journal, []
        self._journal.add(keys)

    def _record(self, results: Sequence[SendResult]) -> asyncio.Future[None]:
        """Write the outcomes on the writing thread, handed to it now: any later database call
        of this worker (a lease renewal above all) sees them written.

        The accepted ones go to the journal first. A write that fails keeps its outcomes in
        memory (written again, first thing, after the worker has reconnected)."""
        self._flush_journal()
        self._journal.add([r.key for r in results if r.outcome == Outcome.SENT and r.key not in self._noted])
        self._noted.difference_update(r.key for r in results)
        bring = False
        if any(r.outcome == Outcome.SENT for r in results):
            bring, self._down = self._down, False
        elif any(transport_down(r.outcome, r.code) for r in results):
            self._down = True
        written = asyncio.get_running_loop().run_in_executor(
            self._db, record, results, self.worker_id, self.schedule
        )
        future = asyncio.ensure_future(self._counted(written, results, bring))
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        return future

    async def _counted(
        self, written: asyncio.Future[dict[str, int]], results: Sequence[SendResult], bring: bool
    ) -> None:
        try:
            tally = await written
        except BaseException:
            for result in results:
                self._unwritten[result.key] = result
            raise
        for key, count in tally.items():
            setattr(self.totals, key, getattr(self.totals, key) + count)
        if bring:
            forward = await self._in_db(bring_forward)
            if forward:
                log.info(
                    "the transport accepts mail again: %s deferred message(s) due now, oldest first", forward
                )

    async def _give_back_next(self) -> None:
        """Stopping: the batch claimed ahead goes back to the queue untouched."""
        if self._next is None:
            return
        ids = (await self._next).ids
        self._next = None
        if ids:
            await self._in_db(release_now, ids, self.worker_id)

    # -- heartbeat, errors and recovery ---------------------------------------------------------

    def _beat(self, stopping: bool = False) -> None:
        now = timezone.now()
        values: dict[str, Any] = {
            "host": self.host,
            "pid": os.getpid(),
            "started_at": self._started_at,
            "seen_at": now,
            "transport": self.transport_kind[:20],
            "sent": self.totals.sent,
            "deferred": self.totals.deferred,
            "failed": self.totals.failed,
            "held": self.totals.held,
            "config_error": self.config_error[:2000],
            "stopped_at": now if stopping else None,
        }
        if not self._error_written:
            values.update(last_error=self.last_error[:2000], last_error_at=self._last_error_at)
        WorkerBeat.objects.update_or_create(worker_id=self.worker_id, defaults=values)
        self._error_written = True

    async def _housekeeping(self, force: bool = False) -> None:
        """The heartbeat every few seconds; a look for dead workers' claims now and then."""
        now = time.monotonic()
        if force or now - self._looked_at >= LOOK_FOR_DEAD_EVERY:
            self._looked_at = now
            await self._in_db(take_over_dead, self.host, self.worker_id)
        if force or now - self._beat_at >= BEAT_EVERY or not self._error_written:
            self._beat_at = now
            await self._in_db(self._beat)

    async def _after_error(self, exc: BaseException) -> None:
        """Log the error with its reason, wait for what is in flight, drop the connections and
        back off (growing, at most 30 s); recovery runs before the next claim."""
        delay = self._backoff.next()
        reason = f"{type(exc).__name__}: {str(exc).strip()}"[:2000]
        self.last_error, self._last_error_at, self._error_written = reason, timezone.now(), False
        database = isinstance(exc, DatabaseError)
        log.error(
            "worker %s: %s error, retrying in %.1f s: %s",
            self.worker_id,
            "database" if database else "unexpected",
            delay,
            reason,
            exc_info=None if database else exc,
            extra={"reason": reason, "retry_in": delay},
        )
        pending: list[asyncio.Future[Any]] = [*self._writing, *self._inflight]
        if self._next is not None:
            pending.append(self._next)
        self._next, self._writing = None, []
        await asyncio.gather(*pending, return_exceptions=True)  # nothing of ours is still running
        await asyncio.gather(self._in_db(_close_connection), self._in_reader(_close_connection))
        self._broken = True
        await asyncio.get_running_loop().run_in_executor(None, self.stop.wait, delay)

    async def _recover(self) -> None:
        """After an error: write the outcomes still in memory, then give back every message
        still claimed and not sent (it goes out again with its stored bytes and Message-ID)."""
        if self._unwritten:
            results = list(self._unwritten.values())
            tally = await self._in_db(record, results, self.worker_id, self.schedule)
            self._unwritten.clear()
            for key, count in tally.items():
                setattr(self.totals, key, getattr(self.totals, key) + count)
            log.info("worker %s: %s outcome(s) written after reconnecting", self.worker_id, len(results))
        released = await self._in_db(release_mine, self.worker_id)
        if released:
            log.info("worker %s: %s claimed message(s) given back after an error", self.worker_id, released)
        self._broken = False
        await self._housekeeping(force=True)
        log.info("worker %s: database reachable again, carrying on", self.worker_id)

    async def run(self, once: bool = False) -> None:
        """Deliver until ``stop`` is set (or, ``once``, until nothing is due). An error does not
        end the worker (only ``once`` raises it): see :meth:`_after_error`."""
        log.info("worker %s started", self.worker_id)
        takeover.LIVE.add(self.worker_id)
        try:
            while not self.stop.is_set():
                try:
                    if self._broken or self._unwritten:
                        await self._recover()
                    await self._housekeeping()
                    if not once:
                        periodic.tick()  # registered jobs (a shop's scheduled pull) on their own thread
                    claimed = await self.run_once()
                    self._backoff.reset()
                except Exception as exc:
                    if once:
                        raise
                    await self._after_error(exc)
                    continue
                if claimed:
                    continue
                if once:
                    break
                await asyncio.get_running_loop().run_in_executor(None, self._listener.wait, self.poll)
                WAKE.clear()
                if self.linger:
                    await asyncio.sleep(self.linger)
        finally:
            await self._stopping()

    async def _stopping(self) -> None:
        try:
            await self._written()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await self._give_back_next()
            if self._unwritten:
                await self._in_db(record, list(self._unwritten.values()), self.worker_id, self.schedule)
                self._unwritten.clear()
            await self._in_db(release_mine, self.worker_id)
            await self._in_db(self._beat, True)
            self._journal.close()  # every outcome is written: nothing for a successor to read
        except Exception as exc:  # the database is gone: a successor reads the journal
            log.error("worker %s stopped without writing everything: %s", self.worker_id, exc)
        finally:
            takeover.LIVE.discard(self.worker_id)
            if self._transport is not None:
                await self._transport.close()
            await asyncio.gather(self._in_db(_close_connection), self._in_reader(_close_connection))
            await asyncio.get_running_loop().run_in_executor(None, self._listener.close)
            self._db.shutdown(wait=True)
            self._reader.shutdown(wait=True)
            log.info("worker %s stopped", self.worker_id)


def run_in_thread(stop: threading.Event, concurrency: int = 4) -> threading.Thread:
    """The worker inside `shopmail serve`: its own thread and event loop. It does not end on an
    error (it backs off and carries on); should it end anyway, it is started again."""

    def target() -> None:
        while not stop.is_set():
            try:
                asyncio.run(Worker(concurrency=concurrency, stop=stop).run())
            except Exception:
                log.exception("the delivery worker ended with an error; starting another in 5 s")
                stop.wait(5.0)

    thread = threading.Thread(target=target, name="shopmail-worker", daemon=True)
    thread.start()
    return thread


def drain(concurrency: int = 4) -> None:
    """Send everything that is due now and return (``shopmail worker --once``; tests)."""
    asyncio.run(Worker(concurrency=concurrency).run(once=True))
