"""The worker journal: what the server accepted, on disk before the database has it (ADR 0005)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings as django_settings

log = logging.getLogger("shopmail.worker")


def journal_dir() -> Path:
    return Path(django_settings.DATA_DIR) / "worker-journal"


def journal_path(worker_id: str) -> Path:
    return journal_dir() / (worker_id.replace("/", "_").replace(":", "_") + ".sent")


class Journal:
    """An append-only file of the ids the server accepted, written (one ``write``) as soon as
    a chunk's replies are in, before the outcome is written to the database. It survives the
    process (``kill -9``: the kernel has the bytes); a successor on this host reads it and marks
    those messages sent instead of sending them again. Emptied whenever every outcome is written.
    Best effort: a journal that cannot be written (a full disk) is skipped."""

    def __init__(self, worker_id: str) -> None:
        self.path = journal_path(worker_id)
        self._fd: int | None = None

    def add(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(self._fd, ("\n".join(keys) + "\n").encode())
        except OSError as exc:
            log.warning("worker journal not written (%s); a crash now may send these again", exc)

    def clear(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


def read_journal(worker_id: str) -> list[int]:
    try:
        text = journal_path(worker_id).read_text()
    except OSError:
        return []
    return [int(line) for line in text.split() if line.isdigit()]
