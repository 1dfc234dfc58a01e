"""Sync uploads in the background (issue 27): the upload is answered at once and its page
polls the progress, so no request is held open for minutes.

A file below ``INLINE_BYTES`` is still run inside the request (it takes well under a second;
there would be nothing to watch). A larger one is kept in the data directory (as a dry run's
file already is) and run by a thread of the web process; its state is a small JSON file next
to it (``<job>.job.json``, written whole and renamed into place), so any process of the
panel on this machine can answer for it:

* ``reading`` (parsing the file), ``checking`` (validated item by item: ``checked`` of
  ``total``, the same progress the CLI's Rich bar shows), ``applying`` (the single transaction:
  all or nothing), then ``done`` (with the result the page shows, e-mails queued) or ``failed``
  (the file's error, or the invalid fields: nothing was applied).
* While it runs the thread writes a heartbeat every few seconds. A job whose heartbeat is older
  than ``STALE`` was cut off (the server stopped): its transaction was rolled back with it, so
  nothing was applied and the page says to upload again. Running the same file twice is safe
  (a run is idempotent by content hashes and message keys).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from django.db import connections
from django.utils import timezone

from shopmail.flows import ingest
from shopmail.store import syncfile

INLINE_BYTES = 256 * 1024
BEAT_SECONDS = 5.0
STALE = dt.timedelta(seconds=60)
RUNNING = ("queued", "reading", "checking", "applying")
SHOWN_ERRORS = 200


def _now() -> str:
    return timezone.now().isoformat()


def job_path(directory: Path, job: str) -> Path:
    return directory / f"{job}.job.json"


def write(directory: Path, job: str, state: dict[str, Any]) -> None:
    path = job_path(directory, job)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(orjson.dumps(state))
    os.replace(temporary, path)


def read(directory: Path, job: str) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = orjson.loads(job_path(directory, job).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if state.get("state") in RUNNING:
        beat = dt.datetime.fromisoformat(str(state.get("beat_at") or state["started_at"]))
        if timezone.now() - beat > STALE:
            state["state"] = "stopped"
            state["error"] = (
                "The sync stopped before it finished (the server was restarted?). Nothing of it"
                " was applied: upload the file again."
            )
    return state


class Job:
    """One background run of a kept sync file."""

    def __init__(
        self,
        directory: Path,
        file: Path,
        *,
        dry_run: bool,
        options: dict[str, bool],
        filename: str,
        token: str,
        actor: str,
        present: Callable[[ingest.RunResult], dict[str, Any]],
    ) -> None:
        self.id = secrets.token_urlsafe(18)
        self.directory, self.file, self.present = directory, file, present
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.state: dict[str, Any] = {
            "id": self.id,
            "state": "queued",
            "dry_run": dry_run,
            "options": options,
            "filename": filename,
            "token": token if dry_run else "",
            "actor": actor,
            "total": 0,
            "checked": 0,
            "started_at": _now(),
            "beat_at": _now(),
        }
        write(directory, self.id, self.state)

    def _save(self, **changes: Any) -> None:
        with self.lock:
            self.state.update(changes, beat_at=_now())
            write(self.directory, self.id, self.state)

    def _beat(self) -> None:
        while not self.finished.wait(BEAT_SECONDS):
            self._save()

    def _checked(self, count: int) -> None:
        checked = self.state["checked"] + count
        self._save(checked=checked, state="applying" if checked >= self.state["total"] else "checking")

    def start(self) -> str:
        threading.Thread(target=self._beat, name=f"sync-beat-{self.id}", daemon=True).start()
        threading.Thread(target=self.run, name=f"sync-{self.id}", daemon=True).start()
        return self.id

    def run(self) -> None:
        try:
            self._save(state="reading")
            doc = syncfile.parse_file(self.file)
            self._save(state="checking", total=len(doc))
            options = self.state["options"]
            result = ingest.ingest(
                orders=doc.orders,
                products=doc.products,
                customers=doc.customers,
                silent=options["silent"] or doc.silent,
                dry_run=self.state["dry_run"],
                partial=options["partial"],
                source="panel",
                progress=self._checked,
            )
        except syncfile.SyncFileError as exc:
            self._save(state="failed", error=f"{exc}. Nothing was applied.")
        except ingest.Rejected as exc:
            self._save(
                state="failed",
                error="Nothing was applied: the file has invalid fields.",
                errors=exc.errors[:SHOWN_ERRORS],
                more_errors=max(0, len(exc.errors) - SHOWN_ERRORS),
            )
        except Exception as exc:  # the page must end, whatever happened; the log has the rest
            self._save(state="failed", error=f"The sync failed: {type(exc).__name__}. Nothing was applied.")
            raise
        else:
            if not self.state["dry_run"]:
                self.file.unlink(missing_ok=True)
            self._save(state="done", result=self.present(result), checked=self.state["total"])
        finally:
            self.finished.set()
            connections.close_all()
