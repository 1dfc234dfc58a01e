"""Sync uploads in the background (issue 27): the upload is answered at once and its page
polls the progress, so no request is held open for minutes.

A file below ``INLINE_BYTES`` is still run inside the request (it takes well under a second;
there would be nothing to watch). A larger one is kept in the data directory (as a dry run's
file already is) and run by a thread of the web process; its state is a small JSON file next
to it (``<job>.job.json``, written whole and renamed into place), so any process of the
panel on this machine can answer for it:

* ``reading`` (parsing the file), ``checking`` (validated item by item: ``checked`` of
  ``total``, the same progress the CLI's Rich bar shows; the orders a chunk of 2,000 at a time,
  each chunk applied in the run's single transaction before the next is read), ``applying``
  (the rest of that transaction: restocks, back-order lines, the commit; all or nothing), then
  ``done`` (with the result the page shows, e-mails queued) or ``failed`` (the file's error, or
  the invalid fields: nothing was applied).
* A job whose heartbeat stopped was cut off (the server stopped): its transaction was rolled
  back with it, so nothing was applied and the page says to upload again. Running the same
  file twice is safe (a run is idempotent by content hashes and message keys).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shopmail.core import jobs
from shopmail.core.jobs import job_path, write
from shopmail.flows import ingest
from shopmail.store import syncfile

__all__ = ["INLINE_BYTES", "RUNNING", "Job", "job_path", "read", "write"]

INLINE_BYTES = 256 * 1024
RUNNING = ("queued", "reading", "checking", "applying")
SHOWN_ERRORS = 200
STOPPED = (
    "The sync stopped before it finished (the server was restarted?). Nothing of it"
    " was applied: upload the file again."
)


def read(directory: Path, job: str) -> dict[str, Any] | None:
    return jobs.read(directory, job, RUNNING, STOPPED)


class Job(jobs.BackgroundJob):
    """One background run of a kept sync file."""

    thread_prefix = "sync"

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
        self.file, self.present = file, present
        super().__init__(
            directory,
            dry_run=dry_run,
            options=options,
            filename=filename,
            token=token if dry_run else "",
            actor=actor,
            total=0,
            checked=0,
        )

    def _checked(self, count: int) -> None:
        checked = self.state["checked"] + count
        self.save(checked=checked, state="applying" if checked >= self.state["total"] else "checking")

    def failure_text(self, exc: Exception) -> str:
        return f"The sync failed: {type(exc).__name__}. Nothing was applied."

    def work(self) -> None:
        try:
            self.save(state="reading")
            doc = syncfile.parse_file(self.file)
            self.save(state="checking", total=len(doc))
            options = self.state["options"]
            result = ingest.ingest(
                orders=doc.orders,
                products=doc.products,
                customers=doc.customers,
                silent=options["silent"] or doc.silent,
                dry_run=self.state["dry_run"],
                partial=options["partial"],
                source="panel",
                listed=ingest.LISTED,
                progress=self._checked,
            )
        except syncfile.SyncFileError as exc:
            self.save(state="failed", error=f"{exc}. Nothing was applied.")
        except ingest.Rejected as exc:
            self.save(
                state="failed",
                error="Nothing was applied: the file has invalid fields.",
                errors=exc.errors[:SHOWN_ERRORS],
                more_errors=max(0, len(exc.errors) - SHOWN_ERRORS),
            )
        else:
            if not self.state["dry_run"]:
                self.file.unlink(missing_ok=True)
            self.save(state="done", result=self.present(result), checked=self.state["total"])
