"""Ingest, step 1: parse and validate what a run was sent, before any write.

An order whose exact content (by hash) is already stored is counted unchanged without being
parsed or validated: that is what makes a full re-sync cheap. The rest is parsed (sync-file
lines arrive as raw bytes), validated against the snapshot models of ``domain.snapshot`` and
kept in its JSON form; invalid items are listed with their errors. The checks themselves are
``flows.validation``'s; a large sync's orders are checked there in a second process, chunks
ahead of the one being written (``collect_chunks`` with ``ahead_for``, ADR 0013).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import orjson
from django.db import connection

from shopmail import db
from shopmail.flows import validation
from shopmail.flows.ingest.result import CHUNK, Item, Progress, RunResult, chunks
from shopmail.store.models import Order
from shopmail.store.syncfile import RawLine

_NUL = b"\\u0000"  # how JSON writes U+0000, which PostgreSQL cannot store in text or jsonb


def content_hash(raw: Any) -> str:
    """Identity of a snapshot as sent. Key order counts: a shop that reorders keys only costs a
    full comparison (the diff then finds nothing), never a wrong answer."""
    return hashlib.blake2b(orjson.dumps(raw), digest_size=16).hexdigest()


def collect(
    kind: str,
    raws: Iterable[Any],
    result: RunResult,
    progress: Progress | None = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[list[Item], list[dict[str, Any]]]:
    """Validate what differs from what is stored, in chunks, keeping nothing of the rest."""
    errors: list[dict[str, Any]] = []
    found = collect_chunks(kind, raws, result, errors, progress, context)
    valid = [item for chunk in found for item in chunk]
    return valid, errors


# A run of at least this many order lines from a file, whose first chunk has at least this many
# orders to validate, has them validated in a second process while it writes (ADR 0013).
AHEAD_FROM = 20_000
AHEAD_FIRST = CHUNK // 2


def ahead_for(raws: Iterable[Any]) -> validation.Ahead | None:
    """The second process for this run's orders, when it is large enough to be worth one."""
    if isinstance(raws, Sequence) and len(raws) >= AHEAD_FROM and isinstance(raws[0], RawLine):
        return validation.Ahead()
    return None


def collect_chunks(
    kind: str,
    raws: Iterable[Any],
    result: RunResult,
    errors: list[dict[str, Any]],
    progress: Progress | None = None,
    context: Mapping[str, Any] | None = None,
    ahead: validation.Ahead | None = None,
) -> Iterator[list[Item]]:
    """The valid items that differ from what is stored, up to ``CHUNK`` at a time and in the
    run's order; the invalid ones are counted, listed in ``result.rejected`` and their errors
    added to ``errors``. With ``ahead`` (a large sync's orders) each chunk is validated in a
    second process, ``Ahead.DEPTH`` chunks ahead of the one the caller is writing."""
    counts = result.counts[kind]
    key_field = validation.KEYS[kind]
    seen: set[str] = set()
    stored = _all_order_hashes(raws) if kind == "orders" else None
    waiting: deque[tuple[list[tuple[validation.Entry, str]], Future[Any] | None, int]] = deque()
    ready: list[Item] = []

    def finish(todo: list[tuple[validation.Entry, str]], future: Future[Any] | None, size: int) -> None:
        entries = [entry for entry, _ in todo]
        if ahead is not None:
            checked = ahead.result(future, kind, entries, context)
        else:
            checked = validation.check(kind, entries, context)
        for (entry, digest), (key, parsed, value, item_errors) in zip(todo, checked, strict=True):
            index, _, maybe_nul = entry
            if parsed and key in seen:
                item_errors = [{"loc": [kind, index, key_field], "msg": "appears more than once in this run"}]
            if item_errors:
                counts.rejected += 1
                errors.extend(item_errors)
                rejected = {"kind": kind, "index": index, "id": key or None, "errors": item_errors}
                result.rejected.append(rejected)
                continue
            seen.add(key)
            item = Item(kind, index, key, None, digest, maybe_nul=maybe_nul)
            if kind == "orders":  # compact until its chunk is applied (``Item.packed``)
                item.packed = value
            else:
                item.data = value
            ready.append(item)
        if progress is not None:
            progress(size)

    # Every hash is looked up before the first chunk is validated (and, ahead, written): what
    # is stored is what was stored when the run began, never this run's own earlier chunks.
    planned: list[tuple[list[tuple[validation.Entry, str]], int]] = []
    for chunk in chunks(enumerate(raws), CHUNK):
        hashed = [_hash_of(raw) for _, raw in chunk]
        known = stored if stored is not None else set()
        if kind == "orders" and stored is None:
            known = _known_order_hashes([digest for digest, _ in hashed])
        todo: list[tuple[validation.Entry, str]] = []
        for (index, raw), (digest, maybe_nul) in zip(chunk, hashed, strict=True):
            counts.seen += 1
            if digest in known:
                counts.unchanged += 1
                continue
            todo.append(((index, raw, maybe_nul), digest))
        planned.append((todo, len(chunk)))
    if ahead is not None and planned and len(planned[0][0]) < AHEAD_FIRST:
        ahead = None  # mostly unchanged (a re-sync): not worth a second process
    for todo, size in planned:
        future = ahead.submit(kind, [entry for entry, _ in todo], context) if ahead is not None else None
        waiting.append((todo, future, size))
        while len(waiting) > (validation.Ahead.DEPTH if ahead is not None else 0):
            finish(*waiting.popleft())
        while len(ready) >= CHUNK:
            yield ready[:CHUNK]
            del ready[:CHUNK]
    while waiting:
        finish(*waiting.popleft())
    while ready:
        yield ready[:CHUNK]
        del ready[:CHUNK]


def _hash_of(raw: Any) -> tuple[str, bool]:
    """The snapshot's content hash, and whether its JSON may hold U+0000 (from the same bytes)."""
    data = raw.data if isinstance(raw, RawLine) else orjson.dumps(raw)
    return hashlib.blake2b(data, digest_size=16).hexdigest(), _NUL in data


# A run of at least this many orders, against a table of at most ``_SCAN_RATIO`` times as many,
# reads every stored hash in one pass over their index instead of looking each one up: a full
# re-sync of 100,000 orders spent 0.3 s in 51 lookups of 2,000 (issue 26).
_SCAN_FROM = 20_000
_SCAN_RATIO = 4


def _all_order_hashes(raws: Iterable[Any]) -> set[str] | None:
    """Every stored order's hash, when reading them all is cheaper than looking them up."""
    if not isinstance(raws, Sequence) or len(raws) < _SCAN_FROM:
        return None
    with connection.cursor() as cursor:  # identifiers from the model's metadata only
        cursor.execute(f"SELECT COUNT(*) FROM {db.table(Order)}")
        if cursor.fetchone()[0] > _SCAN_RATIO * len(raws):
            return None
        cursor.execute(f"SELECT {db.column(Order, 'snapshot_hash')} FROM {db.table(Order)}")
        return {row[0] for row in cursor.fetchall()}


def _known_order_hashes(hashes: list[str]) -> set[str]:
    return {digest for (digest,) in db.values_in(Order, ["snapshot_hash"], "snapshot_hash", hashes)}
