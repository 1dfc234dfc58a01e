"""Waking the workers when mail is queued: in this process, and in worker processes of their own.

``queued()`` is called in the transaction that queued (or re-queued) mail:

* in this process it sets ``WAKE`` once the transaction commits (the worker inside
  ``shopmail serve``);
* on PostgreSQL it also sends ``NOTIFY shopmail_wake`` in that transaction, which PostgreSQL
  delivers at commit and drops on rollback, to every worker process LISTENing.

A worker waits between looks for due mail with a :class:`Listener`: on PostgreSQL a connection
of its own that LISTENs; on SQLite, where nothing is pushed between processes, it reads
``PRAGMA data_version`` every 50 ms, which changes whenever another connection has committed
(a read of the shared WAL index: no table is queried). Either way it still looks every ``poll``
seconds, for retries that have become due and leases that have expired; a listener whose
database goes away falls back to that plain poll and tries again at the next wait.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from django.db import connection, connections, transaction

__all__ = ["CHANNEL", "WAKE", "Listener", "queued"]

log = logging.getLogger("shopmail.worker")

# Set after a commit that queued mail: wakes the in-process worker at once.
WAKE = threading.Event()
CHANNEL = "shopmail_wake"
_SQLITE_LOOK = 0.05  # seconds between two looks at PRAGMA data_version
_LOOK = 0.5  # at most this long without looking whether the worker is stopping (PostgreSQL)


def queued() -> None:
    """Mail was queued in the current transaction: wake every worker once it commits."""
    transaction.on_commit(WAKE.set)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Listener:
    """What one worker waits on between looks for due mail (used by one thread at a time)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._stop = stop or threading.Event()  # a worker stopping: return within a moment
        self._postgres: Any = None  # Django's wrapper of a connection of its own, LISTENing
        self._sqlite: sqlite3.Connection | None = None
        self._version: int | None = None  # SQLite's data_version at the last look

    def wait(self, timeout: float) -> None:
        """Return when mail may have been queued (or something else committed), when the
        worker is stopping, or after ``timeout`` seconds."""
        if WAKE.is_set():
            return
        try:
            if connection.vendor == "postgresql":
                self._wait_postgres(timeout)
            else:
                self._wait_sqlite(timeout)
        except Exception as exc:
            log.warning("wake-up listener failed, polling instead: %s", exc)
            self.close()
            WAKE.wait(min(timeout, _LOOK))

    def close(self) -> None:
        postgres, self._postgres = self._postgres, None
        if postgres is not None:
            postgres.close()
        sqlite, self._sqlite = self._sqlite, None
        if sqlite is not None:
            sqlite.close()
        self._version = None

    def _wait_postgres(self, timeout: float) -> None:
        if self._postgres is None:
            wrapper = connections.create_connection("default")
            wrapper.inc_thread_sharing()  # waits run on whichever executor thread is free
            wrapper.connect()
            wrapper.connection.execute(f"LISTEN {CHANNEL}")
            self._postgres = wrapper
        deadline = time.monotonic() + timeout
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            # a notification that came while the worker was busy is read here at once
            if list(self._postgres.connection.notifies(timeout=min(left, _LOOK), stop_after=1)):
                return

    def _wait_sqlite(self, timeout: float) -> None:
        if self._sqlite is None:
            name = str(connection.settings_dict["NAME"])
            self._sqlite = sqlite3.connect(name, timeout=5, check_same_thread=False)
        deadline = time.monotonic() + timeout
        while True:
            version = self._sqlite.execute("PRAGMA data_version").fetchone()[0]
            if self._version is not None and version != self._version:
                self._version = version  # a commit since the last look (perhaps new mail)
                return
            self._version = version
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set() or WAKE.wait(min(left, _SQLITE_LOOK)):
                return
