"""What one ingest run carries between its steps and reports back: the items, the counts, the result.

Plain data shared by the steps of ``flows.ingest`` (collect, upsert, plan, apply); no step's logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("orders", "products", "customers")
CHUNK = 2000  # rows per query / per bulk write; orders applied per chunk
LISTED = 1000  # orders whose changes a file sync, an upload or a pull lists (the rest are counted)
Progress = Callable[[int], None]


@dataclass(slots=True)
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


def empty_entry(key: str) -> dict[str, Any]:
    """An order's entry in a run's result before anything is known of it."""
    return {"order": key, "stale": False, "changes": [], "messages": []}


@dataclass
class RunResult:
    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    run_id: int | None = None
    dry_run: bool = False
    listed: int | None = None  # at most this many orders keep their result entry (None: all)
    changes_not_listed: int = 0  # changes of the orders beyond ``listed``, counted only

    def order_result(self, key: str) -> dict[str, Any]:
        """The order's entry; for an order beyond ``listed`` a scratch entry that is not kept."""
        return self.listed_result(key) or empty_entry(key)

    def listed_result(self, key: str) -> dict[str, Any] | None:
        entry = self.orders.get(key)
        if entry is None and (self.listed is None or len(self.orders) < self.listed):
            entry = self.orders[key] = empty_entry(key)
        return entry

    def counts_json(self) -> dict[str, dict[str, int]]:
        return {kind: dict(vars(count)) for kind, count in self.counts.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "dry_run": self.dry_run,
            "counts": self.counts_json(),
            "changes": [
                {"order": key, **change}
                for key, result in self.orders.items()
                for change in result["changes"]
            ],
            "messages": self.messages,
            "rejected": self.rejected,
            **({"changes_not_listed": self.changes_not_listed} if self.changes_not_listed else {}),
        }


def chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
