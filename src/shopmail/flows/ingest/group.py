"""Group commit for single-order runs (ADR 0013): order PUTs that arrive together share one run.

A run of one order pays a run's fixed costs alone: the settings read, the run's row, the
transaction and its commit (an fsync with SQLite's ``synchronous=FULL``). When several
``PUT /api/v1/orders/{id}`` arrive at once, one of their threads (the leader) takes every
waiting order, each id at most once, and runs them as one ``ingest`` run; the others wait for
its commit and answer with their own order's entry. Nothing is answered before the commit that
holds it, so durability is unchanged; a lone request is the leader of a group of one and runs
at once, without waiting for company.

A group's run is all-or-nothing like any run. If it fails (an invalid order, a lost database,
anything), the leader runs every member again alone, in arrival order, before the next group
starts: exactly the run each would have had without grouping, its own answer or its own error
(raised in its own thread). A second PUT of an order already in the group waits for the next
group, so two snapshots of one order are applied in the order they arrived. A member
interrupted while it waits (an asynchronous exception) leaves the queue and passes on a lead
it was handed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shopmail.flows.ingest.result import RunResult

LIMIT = 64  # orders per group


class _Member:
    __slots__ = ("body", "entry", "error", "key", "lead", "wake")

    def __init__(self, key: str, body: Any):
        self.key = key
        self.body = body
        self.wake = threading.Event()
        self.entry: dict[str, Any] | None = None
        self.error: Exception | None = None  # its own run's error, raised in its own thread
        self.lead = False  # handed the lead: take the next group


class Group:
    """Combines concurrent single-order runs of one process; ``run`` does one run of a list."""

    def __init__(self, run: Callable[[list[Any]], RunResult], limit: int = LIMIT):
        self._run = run
        self._limit = limit
        self._lock = threading.Lock()
        self._waiting: list[_Member] = []
        self._leading = False
        self.grouped = 0  # orders applied in a group of more than one, so far

    def submit(self, key: str, body: Any) -> dict[str, Any]:
        """Apply one order; return its entry of the run (or raise what its own run raises)."""
        member = _Member(key, body)
        with self._lock:
            self._waiting.append(member)
            lead = not self._leading
            self._leading = True
        if not lead:
            try:
                member.wake.wait()
            except BaseException:  # interrupted while waiting: leave, and pass on a lead
                self._leave(member)
                raise
        if member.lead:
            lead = True
        if lead:
            self._lead(member)
        if member.error is not None:
            raise member.error
        if member.entry is None:  # its leader was interrupted before running it
            return self._alone(member)
        return member.entry

    def _alone(self, member: _Member) -> dict[str, Any]:
        return self._run([member.body]).order_result(member.key)

    def _lead(self, member: _Member) -> None:
        # The leader is the oldest waiting member, so its group holds it; it keeps the lead
        # while the group runs, so that the orders arriving meanwhile form the next group.
        group = self._take()
        try:
            try:
                result = self._run([each.body for each in group])
            except Exception:
                if len(group) == 1:
                    raise  # the leader's own run, in its own thread: its own error
                # Each member runs alone, in arrival order, before the lead passes on: a later
                # snapshot of one of these orders, waiting for the next group, comes after.
                for each in group:
                    try:
                        each.entry = self._alone(each)
                    except Exception as exc:
                        each.error = exc
            else:
                if len(group) > 1:
                    self.grouped += len(group)
                for each in group:
                    each.entry = result.order_result(each.key)
        finally:
            for each in group:
                if each is not member:
                    each.wake.set()
            self._hand_over()

    def _take(self) -> list[_Member]:
        with self._lock:
            group: list[_Member] = []
            keys: set[str] = set()
            rest: list[_Member] = []
            for each in self._waiting:
                if len(group) < self._limit and each.key not in keys:
                    keys.add(each.key)
                    group.append(each)
                else:
                    rest.append(each)
            self._waiting = rest
            return group

    def _leave(self, member: _Member) -> None:
        with self._lock:
            if member in self._waiting:
                self._waiting.remove(member)
            handed = member.lead
        if handed:
            self._hand_over()

    def _hand_over(self) -> None:
        with self._lock:
            if self._waiting:
                following = self._waiting[0]
                following.lead = True
                following.wake.set()
            else:
                self._leading = False
