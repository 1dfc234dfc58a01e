"""Validating what a run was sent, item by item: parse, key, the snapshot models, no NUL.

``check`` is what ingest's ``collect`` step does with every item that differs from what is
stored. A large sync's orders are checked in a second process (``Ahead``), a few chunks ahead
of the chunk the ingesting process is writing, so the two run on two cores (ADR 0013). That
process imports this module only: nothing here needs Django, so it starts in ~0.3 s.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from shopmail.core.errors import pydantic_errors
from shopmail.domain.snapshot import CustomerIn, OrderIn, ProductIn, ident
from shopmail.store.syncfile import RawLine

log = logging.getLogger("shopmail.flows.ingest")

MODELS: dict[str, type[BaseModel]] = {"orders": OrderIn, "products": ProductIn, "customers": CustomerIn}
KEYS = {"orders": "id", "products": "sku", "customers": "id"}

# one item to check: its index in the run, what was sent (a RawLine or parsed JSON), whether its
# bytes may hold a \u0000 escape
Entry = tuple[int, Any, bool]
# what ``check`` found: the item's key ("" without one), whether it parsed, the validated value
# (an order as compact JSON text, anything else as its JSON dict; None when invalid) and errors
Checked = tuple[str, bool, Any, list[dict[str, Any]]]


def check(kind: str, entries: Sequence[Entry], context: Mapping[str, Any] | None = None) -> list[Checked]:
    """Parse and validate each entry. A valid order is returned as compact JSON text: as text,
    because the bytes orjson returns keep its whole 8 KB working buffer (``Item.packed``)."""
    key_field = KEYS[kind]
    found: list[Checked] = []
    for index, raw, maybe_nul in entries:
        obj, errors = _parse(kind, index, raw)
        key = ident(obj.get(key_field)) if isinstance(obj, dict) else None
        key = key if isinstance(key, str) else ""
        if errors:
            found.append((key, False, None, errors))
            continue
        data, errors = _validate(kind, obj, maybe_nul, [kind, index], context)
        value: Any = data
        if data is not None and kind == "orders":
            value = orjson.dumps(data).decode()
        found.append((key, True, value, errors))
    return found


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


def _validate(
    kind: str, obj: Any, maybe_nul: bool, prefix: Sequence[Any], context: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    try:
        model = MODELS[kind].model_validate(obj, context=context)
    except ValidationError as exc:
        return None, pydantic_errors(exc, prefix)
    data = model.model_dump(mode="json")
    # the bytes were looked at for the hash; the walk only when they may hold one (fields refuse
    # it with their own error above; this catches free JSON, keys included)
    if maybe_nul and _has_nul(data):
        return None, [{"loc": [*prefix], "msg": "contains a NUL character (\\u0000), which cannot be stored"}]
    return data, []


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Ahead:
    """A second process that checks a large run's orders ahead of the chunk being written.

    Started on the first ``submit``. Anything that goes wrong with it (it cannot start, it dies,
    an entry cannot be sent to it) is logged and the ingesting process checks the entries itself:
    the run's outcome never depends on the second process.
    """

    DEPTH = 3  # chunks submitted ahead of the one being written (bounded: memory stays flat)

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.broken = False

    def submit(
        self, kind: str, entries: Sequence[Entry], context: Mapping[str, Any] | None
    ) -> Future[Any] | None:
        if self.broken:
            return None
        try:
            if self._pool is None:  # spawn, not fork: the ingesting process has threads (serve)
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            return self._pool.submit(check, kind, list(entries), context)
        except Exception as exc:  # any failure: checked here instead
            self._fail(exc)
            return None

    def result(
        self,
        future: Future[Any] | None,
        kind: str,
        entries: Sequence[Entry],
        context: Mapping[str, Any] | None,
    ) -> list[Checked]:
        if future is not None and not self.broken:
            try:
                return future.result()  # type: ignore[no-any-return]
            except Exception as exc:  # it died, or could not take the entries
                self._fail(exc)
        return check(kind, entries, context)

    def _fail(self, exc: BaseException) -> None:
        if not self.broken:
            log.warning("validating in a second process failed (%s); validating here", exc)
        self.broken = True
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
