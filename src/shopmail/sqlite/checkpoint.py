"""WAL checkpoints on a thread of their own, off the path of the writers that need speed.

In WAL mode every commit appends to ``shopmail.sqlite3-wal``; a *checkpoint* copies those pages
into the database file and fsyncs both (``synchronous=FULL``). By default SQLite runs it inside
the commit that takes the WAL past 1,000 pages, so one commit in every few hundred waits for it.
In the worker that commit is a claim or an outcome write, and sending stopped for it: in
``bench/delivery.py``'s L4 lane the sixth claim of 1,024 messages took 120-160 ms instead of
5-10 ms, every run (ADR 0015).

Long-running processes (``serve``, ``worker``) therefore start a :class:`Checkpointer`: its own
connection runs a ``PASSIVE`` checkpoint (it never blocks a reader or a writer and takes no
write lock) when something was committed since its last look. It keeps the WAL about as short
as SQLite's own rule does (``TARGET_FRAMES``), so the file is reused from its start instead of
growing: it looks again sooner when a checkpoint found more frames than that, and later (up to
once a second) when it found few or nothing had changed. A WAL left to grow for a second made
every commit's fsync extend the file, which cost more than the stall it saved (ADR 0015).

While the thread runs, the process's connections checkpoint by themselves only past
``AUTOCHECKPOINT_PAGES``: the safety net for a thread that fails. A process without the thread
(a CLI command such as ``shopmail sync``, a test) keeps SQLite's own rule, 1,000 pages: a longer
WAL made its reads slower (pages in the WAL are read with ``pread``, not from the mapped file).
Durability is unchanged: a commit is durable once its WAL frames are synced, whoever
checkpoints them later.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from django.db.backends.signals import connection_created
from django.db.backends.sqlite3.creation import DatabaseCreation

log = logging.getLogger("shopmail.sqlite")

AUTOCHECKPOINT_PAGES = 10_000  # with the thread, a commit checkpoints itself past ~40 MB of WAL
TARGET_FRAMES = 1_000  # SQLite's own default size of a checkpoint
SHORTEST = 0.05  # seconds between two looks, under a heavy write load
LONGEST = 1.0  # seconds between two looks, when little or nothing is written


def next_interval(interval: float, frames: int | None, shortest: float, longest: float) -> float:
    """The wait before the next look, after a checkpoint that found ``frames`` in the WAL
    (None: nothing had been committed, no checkpoint ran)."""
    if frames is not None and frames > TARGET_FRAMES:
        return max(shortest, interval / 2)
    if frames is None or frames < TARGET_FRAMES // 4:
        return min(longest, interval * 2)
    return interval


class Checkpointer:
    """A thread that checkpoints the WAL of the SQLite file at ``path`` while ``stop`` is unset,
    looking every ``shortest`` to ``longest`` seconds (the same two for a fixed interval)."""

    def __init__(
        self, path: str, stop: threading.Event, shortest: float = SHORTEST, longest: float = LONGEST
    ) -> None:
        self.path, self.stop = path, stop
        self.shortest, self.longest = shortest, longest
        self.interval = shortest  # a process starts with work to do, often
        self.checkpoints = 0  # complete checkpoints run (for tests)
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, frames checkpointed)
        self._failing = False
        self.thread = threading.Thread(target=self._run, name="shopmail-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        self.thread.start()
        return self

    def _run(self) -> None:
        connection = sqlite3.connect(
            self.path, timeout=0, isolation_level=None, check_same_thread=False, uri=True
        )  # as Django opens it (a file: URI works too)
        try:
            seen = None
            # none on stopping: what is left is checkpointed by the next checkpoint of any
            # process, or by the last connection to the database when it closes
            while not self.stop.wait(self.interval):
                seen, frames = self._round(connection, seen)
                self.interval = next_interval(self.interval, frames, self.shortest, self.longest)
        finally:
            connection_created.disconnect(dispatch_uid=_SAFETY_NET)  # new connections: SQLite's rule
            connection.close()

    def _round(self, connection: sqlite3.Connection, seen: int | None) -> tuple[int | None, int | None]:
        """One look: checkpoint if another connection committed since the last complete one.
        Returns the version it covered and the frames the WAL had (None if none ran)."""
        try:
            # changes whenever another connection (of any process) commits: a cheap read
            version = int(connection.execute("PRAGMA data_version").fetchone()[0])
            if version == seen:
                return seen, None
            connection.execute("PRAGMA synchronous=FULL")  # as every connection of shopmail
            busy, frames, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            if not self._failing:  # said once until it works again, not at every look
                log.warning("WAL checkpoint failed (SQLite checkpoints on its own meanwhile): %s", exc)
            self._failing = True
            return seen, None
        self._failing = False
        self.last = (int(busy), int(frames), int(done))
        if busy or frames < 0 or done < frames:
            # another process's checkpoint held the lock, or a reader still needs older frames:
            # look again next time even if nothing more is committed meanwhile
            return seen, max(int(frames), 0)
        self.checkpoints += 1
        return version, int(frames)


_SAFETY_NET = "shopmail.sqlite.checkpoint"


def _with_safety_net(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """A connection of a process whose thread checkpoints: by itself only past the safety net."""
    if connection is not None and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(AUTOCHECKPOINT_PAGES)}")


def start(stop: threading.Event) -> Checkpointer | None:
    """Start checkpointing the default database's WAL if it is SQLite; None on PostgreSQL."""
    from django.db import connection

    path = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or DatabaseCreation.is_in_memory_db(path):
        return None
    checkpointer = Checkpointer(path, stop)
    connection_created.connect(_with_safety_net, dispatch_uid=_SAFETY_NET)  # the next connections
    if connection.connection is not None:  # and this thread's, open already
        _with_safety_net(connection=connection)
    return checkpointer.start()
