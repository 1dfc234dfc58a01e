"""WAL checkpoints on a thread of their own (shopmail/sqlite/checkpoint.py, ADR 0015).

The checkpointer itself is tested on plain SQLite files in a temporary directory, so these run
the same whichever database the suite uses; the last tests check how it is wired in.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from shopmail.cli.management.commands import worker as worker_command
from shopmail.sqlite import checkpoint


def _wal_database(path: Path) -> sqlite3.Connection:
    """A database in WAL mode whose writer never checkpoints by itself."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT)")
    return writer


def _write(writer: sqlite3.Connection, rows: int, first: int = 0) -> None:
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t VALUES (?, ?)", [(first + n, "x" * 200) for n in range(rows)])
    writer.execute("COMMIT")


def _rows_in_the_file_alone(path: Path, tmp_path: Path) -> int:
    """Rows that the database file holds without its WAL beside it (what was checkpointed)."""
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as alone:
        if not alone.execute("SELECT 1 FROM sqlite_master WHERE name = 't'").fetchone():
            return 0
        return int(alone.execute("SELECT count(*) FROM t").fetchone()[0])


def _until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def stop():
    event = threading.Event()
    yield event
    event.set()


def test_committed_pages_reach_the_database_file_without_the_writer_checkpointing(tmp_path, stop):
    path = tmp_path / "db.sqlite3"
    writer = _wal_database(path)
    _write(writer, 500)
    assert _rows_in_the_file_alone(path, tmp_path) == 0  # all of it still in the WAL only
    checkpointer = checkpoint.Checkpointer(str(path), stop, shortest=0.02, longest=0.02).start()
    assert _until(lambda: checkpointer.checkpoints >= 1)
    assert _rows_in_the_file_alone(path, tmp_path) == 500
    busy, frames, done = checkpointer.last or (None, None, None)
    assert busy == 0 and frames and done == frames


def test_it_checkpoints_again_only_after_another_commit(tmp_path, stop):
    path = tmp_path / "db.sqlite3"
    writer = _wal_database(path)
    _write(writer, 10)
    checkpointer = checkpoint.Checkpointer(str(path), stop, shortest=0.02, longest=0.02).start()
    assert _until(lambda: checkpointer.checkpoints >= 1)
    count = checkpointer.checkpoints
    time.sleep(0.2)  # ten intervals without a commit
    assert checkpointer.checkpoints == count
    _write(writer, 10, first=10)
    assert _until(lambda: checkpointer.checkpoints == count + 1)
    assert _rows_in_the_file_alone(path, tmp_path) == 20


@pytest.mark.parametrize("interval", [0.02, 30.0], ids=["between looks", "inside a long wait"])
def test_it_ends_at_once_when_told_to_stop(tmp_path, interval):
    path = tmp_path / "db.sqlite3"
    _wal_database(path)
    stop = threading.Event()
    checkpointer = checkpoint.Checkpointer(str(path), stop, shortest=interval, longest=interval).start()
    time.sleep(0.05)
    stop.set()
    checkpointer.thread.join(timeout=2)
    assert not checkpointer.thread.is_alive()


def test_a_failing_checkpoint_is_logged_once_and_the_thread_goes_on(tmp_path, stop, caplog):
    path = tmp_path / "not-a-database.sqlite3"
    path.write_bytes(b"this is not an SQLite file at all, " * 200)
    caplog.set_level(logging.WARNING, logger="shopmail.sqlite")
    checkpointer = checkpoint.Checkpointer(str(path), stop, shortest=0.01, longest=0.01).start()
    time.sleep(0.2)  # about twenty failing rounds
    failures = [r for r in caplog.records if "WAL checkpoint failed" in r.getMessage()]
    assert len(failures) == 1 and "not a database" in failures[0].getMessage()
    assert checkpointer.thread.is_alive() and checkpointer.checkpoints == 0


def test_it_looks_sooner_while_the_wal_fills_faster_than_sqlites_own_rule_and_later_when_quiet():
    target, shortest, longest = checkpoint.TARGET_FRAMES, 0.05, 1.0
    assert checkpoint.next_interval(0.4, target + 1, shortest, longest) == 0.2
    assert checkpoint.next_interval(0.05, 10 * target, shortest, longest) == shortest
    assert checkpoint.next_interval(0.2, target // 2, shortest, longest) == 0.2  # about right: kept
    assert checkpoint.next_interval(0.2, target // 4 - 1, shortest, longest) == 0.4
    assert checkpoint.next_interval(0.2, None, shortest, longest) == 0.4  # nothing was committed
    assert checkpoint.next_interval(0.8, None, shortest, longest) == longest


def test_under_a_steady_write_load_the_wal_stays_near_sqlites_own_size(tmp_path, stop):
    path = tmp_path / "db.sqlite3"
    writer = _wal_database(path)
    writer.execute("PRAGMA synchronous=OFF")  # the test's pace is its own, not the disk's
    checkpointer = checkpoint.Checkpointer(str(path), stop).start()
    commits = 150
    for n in range(commits):  # 1,000 rows of ~210 bytes (~55 pages) every ~10 ms
        _write(writer, 1000, n * 1000)
        time.sleep(0.01)
    written_pages = commits * 1000 * 210 // 4096
    wal_pages = (path.with_name(path.name + "-wal").stat().st_size - 32) // (4096 + 24)
    # the writer never checkpoints itself: without the thread the WAL would hold every page
    assert checkpointer.checkpoints >= 3
    assert wal_pages < written_pages / 2, (wal_pages, written_pages)
    stop.set()  # no checkpoint half-way through the copy below
    checkpointer.thread.join(timeout=2)
    assert _rows_in_the_file_alone(path, tmp_path) > 0


def test_a_checkpoint_a_reader_cut_short_is_finished_without_another_commit(tmp_path, stop):
    path = tmp_path / "db.sqlite3"
    writer = _wal_database(path)
    _write(writer, 10)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # a snapshot of the first 10 rows
    _write(writer, 500, first=10)  # frames the reader's snapshot does not need... but holds back
    checkpointer = checkpoint.Checkpointer(str(path), stop, shortest=0.02, longest=0.02).start()
    assert _until(lambda: checkpointer.last is not None)
    _, frames, done = checkpointer.last or (0, 0, 0)
    assert done < frames and checkpointer.checkpoints == 0  # cut short, not counted as done
    reader.execute("COMMIT")  # the reader goes; nothing more is committed
    assert _until(lambda: checkpointer.checkpoints == 1)
    stop.set()
    checkpointer.thread.join(timeout=2)
    assert _rows_in_the_file_alone(path, tmp_path) == 510


def _autocheckpoint_of_a_new_connection() -> int:
    """``wal_autocheckpoint`` of a connection opened now (in a thread of its own)."""
    found: list[int] = []

    def look() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint")
                found.append(int(cursor.fetchone()[0]))
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return found[0]


@pytest.mark.django_db(transaction=True)
def test_while_it_runs_the_connections_checkpoint_by_themselves_only_past_the_safety_net():
    if connection.vendor != "sqlite":  # PostgreSQL checkpoints in its own server processes
        assert checkpoint.start(threading.Event()) is None
        return
    sqlites_own = 1000
    assert _autocheckpoint_of_a_new_connection() == sqlites_own  # a CLI command, a test
    stop = threading.Event()
    started = checkpoint.start(stop)
    try:
        assert started is not None and started.path == connection.settings_dict["NAME"]
        with connection.cursor() as cursor:  # this thread's connection, open before the start
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone()[0] == checkpoint.AUTOCHECKPOINT_PAGES
        assert _autocheckpoint_of_a_new_connection() == checkpoint.AUTOCHECKPOINT_PAGES
    finally:
        stop.set()
        started.thread.join(timeout=2)
    assert _autocheckpoint_of_a_new_connection() == sqlites_own  # stopped: SQLite's own rule again
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA wal_autocheckpoint={sqlites_own}")  # as the next test expects it
    for memory in (":memory:", "file:memorydb_x?mode=memory&cache=shared"):
        assert checkpoint.DatabaseCreation.is_in_memory_db(memory)  # start() starts none


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_runs_one_for_as_long_as_it_runs(monkeypatch, store):
    started: list[tuple[checkpoint.Checkpointer | None, threading.Event]] = []
    real_start = checkpoint.start

    def start(stop: threading.Event):
        started.append((real_start(stop), stop))
        return started[-1][0]

    monkeypatch.setattr(checkpoint, "start", start)
    # the command's SIGTERM/SIGINT handlers would stay installed in the test process
    monkeypatch.setattr(worker_command, "_on_stop_signal", lambda action: None)
    call_command("worker", "--once")
    [(checkpointer, stop)] = started
    assert stop.is_set()
    if connection.vendor == "sqlite":
        assert checkpointer is not None and not checkpointer.thread.is_alive()
    else:
        assert checkpointer is None
