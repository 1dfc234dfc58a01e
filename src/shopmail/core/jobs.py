"""Long work in a thread of the web process, watched by polling (issue 27): a sync upload, a pull
from a shop. The request that starts it is answered at once; the page polls a small JSON.

A job's state is a small JSON file in a directory of the data dir (``<job>.job.json``, written
whole and renamed into place), so any process of the panel on this machine can answer for it.
While it runs, a second thread writes a heartbeat every ``BEAT_SECONDS``; a running job whose
heartbeat is older than ``STALE`` was cut off with its server, and ``read`` says ``stopped``
(the work's transaction was rolled back with it: nothing of it was applied).

A subclass names its running states and its thread prefix, and does its work in ``work``,
reporting with ``save(...)``; ``work`` ends the job by saving a state that is not running.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import orjson
from django.db import connections
from django.utils import timezone

BEAT_SECONDS = 5.0
STALE = dt.timedelta(seconds=60)
_SUFFIX = ".job.json"
_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")


def valid_id(job: str) -> bool:
    """A job id as ``BackgroundJob`` makes them (so no path can be smuggled in)."""
    return bool(_ID.fullmatch(job))


def now_text() -> str:
    return timezone.now().isoformat()


def job_path(directory: Path, job: str) -> Path:
    return directory / f"{job}{_SUFFIX}"


def write(directory: Path, job: str, state: dict[str, Any]) -> None:
    path = job_path(directory, job)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(orjson.dumps(state))
    os.replace(temporary, path)


def read(directory: Path, job: str, running: tuple[str, ...], stopped: str) -> dict[str, Any] | None:
    """The job's state, or None when there is no such job. A running job whose heartbeat is
    stale is reported ``stopped`` with the message ``stopped``."""
    if not valid_id(job):
        return None
    try:
        state: dict[str, Any] = orjson.loads(job_path(directory, job).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if state.get("state") in running:
        beat = dt.datetime.fromisoformat(str(state.get("beat_at") or state["started_at"]))
        if timezone.now() - beat > STALE:
            state["state"] = "stopped"
            state["error"] = stopped
    return state


def polled(
    state: dict[str, Any],
    running: tuple[str, ...],
    phases: Mapping[str, Any],
    *,
    total: int,
    finished: int,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """What a job's page polls (``panel/progress.js``): its state, the bar's ``finished`` of
    ``total``, the words to show; when it is done the page reloads once to show the result."""
    done = state["state"] not in running
    return {
        "state": state["state"],
        "done": done,
        "reload": done,
        "total": total,
        "finished": finished,
        "fields": {"phase": str(phases.get(state["state"], state["state"])), **fields},
    }


def remove_older_than(directory: Path, seconds: float, *patterns: str) -> None:
    """Delete the job states (and the other files named by ``patterns``) not touched for ``seconds``."""
    cutoff = time.time() - seconds
    for pattern in (f"*{_SUFFIX}", *patterns):
        for old in directory.glob(pattern):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink(missing_ok=True)
            except FileNotFoundError:  # another process cleaned it up meanwhile
                continue


class BackgroundJob:
    """One run of some work in a thread, its state in ``directory``."""

    thread_prefix: ClassVar[str] = "job"

    def __init__(self, directory: Path, **state: Any) -> None:
        self.id = secrets.token_urlsafe(18)
        self.directory = directory
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.state: dict[str, Any] = {
            "id": self.id,
            "state": "queued",
            **state,
            "started_at": now_text(),
            "beat_at": now_text(),
        }
        write(directory, self.id, self.state)

    def save(self, **changes: Any) -> None:
        with self.lock:
            self.state.update(changes, beat_at=now_text())
            write(self.directory, self.id, self.state)

    def _beat(self) -> None:
        while not self.finished.wait(BEAT_SECONDS):
            self.save()

    def start(self) -> str:
        name = f"{self.thread_prefix}-{self.id}"
        threading.Thread(target=self._beat, name=f"{name}-beat", daemon=True).start()
        threading.Thread(target=self._run, name=name, daemon=True).start()
        return self.id

    def _run(self) -> None:
        try:
            self.work()
        except Exception as exc:  # the page must end, whatever happened; the log has the rest
            self.save(state="failed", error=self.failure_text(exc))
            raise
        finally:
            self.finished.set()
            connections.close_all()

    def work(self) -> None:  # pragma: no cover - every job defines it
        raise NotImplementedError

    def failure_text(self, exc: Exception) -> str:
        return f"It failed: {type(exc).__name__}."
