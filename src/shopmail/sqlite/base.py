"""Django's SQLite backend, with the write lock queued in the process instead of in SQLite.

SQLite has one writer at a time. A second writer waits in SQLite's busy handler, which sleeps
in growing steps (1, 2, 5, 10 … 100 ms) and polls: under load (the API ingesting orders while
the in-process worker records outcomes) a transaction can sleep long after the lock is free,
and those sleeps made the slowest 1 % of order e-mails wait over a second.

Here every transaction (``BEGIN IMMEDIATE``, see settings) of this process first takes one
process-wide lock, so the process's writers queue on a lock that hands over at once, and only
one of them at a time meets other processes in SQLite's busy handler. The lock is released on
commit, rollback or close. If it cannot be had within the database timeout (a connection left
inside a transaction), the transaction goes ahead on SQLite's own locking, as without it.

The lock is handed over in arrival order. A plain ``threading.Lock`` is not fair: with eight
request threads ingesting orders, the in-process worker could wait seconds for its turn to
claim mail or record what it sent, which was the tail of the order e-mails' latency (issue 26).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base


class FairLock:
    """A lock that goes to its waiters in the order they came (FIFO), handed over directly."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # released to us by ``release``
        with self._mutex:
            if turn in self._waiters:  # gave up while still waiting
                self._waiters.remove(turn)
                return False
        return True  # handed over between the timeout and here: ours now

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                raise RuntimeError("release of an unheld FairLock")
            if self._waiters:
                self._waiters.popleft().release()  # the next in line holds it from now
            else:
                self._held = False

    def locked(self) -> bool:
        return self._held


_WRITER = FairLock()


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    _holds_writer = False

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        self._holds_writer = _WRITER.acquire(timeout=timeout)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            _WRITER.release()

    def _ending(self, end: Callable[[], Any]) -> Any:
        """Commit, roll back or close, and let the next writer of this process go."""
        try:
            return end()
        finally:
            self._release_writer()

    def _commit(self) -> Any:
        return self._ending(super()._commit)  # type: ignore[misc]

    def _rollback(self) -> Any:
        return self._ending(super()._rollback)  # type: ignore[misc]

    def _close(self) -> Any:
        return self._ending(super()._close)  # type: ignore[misc]
