"""Jobs the delivery worker runs now and then, registered by the apps that own them (the shop
connectors' scheduled pull), so the worker never imports those apps.

``tick()`` is what the worker calls on each turn of its loop: at most every ``EVERY`` seconds it
starts the registered jobs on a thread of their own (delivery never waits for them) unless the
previous round is still running. Each job decides from the database whether it is due and claims
its work there, so several workers never run the same job twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
EVERY = 30.0  # seconds between two looks at the registered jobs

_jobs: list[tuple[str, Callable[[], object]]] = []
_lock = threading.Lock()
_running: threading.Thread | None = None
_last = 0.0


def register(name: str, job: Callable[[], object]) -> None:
    if all(existing != name for existing, _ in _jobs):
        _jobs.append((name, job))


def run_all() -> None:
    """Every registered job once, in this thread; a failing job is logged, never raised."""
    from django.db import connection

    try:
        for name, job in list(_jobs):
            try:
                job()
            except Exception:
                log.exception("periodic job %s failed", name)
    finally:
        connection.close()


def tick(now: float | None = None) -> bool:
    """Start a round of the jobs on a thread when one is due; True when it started one."""
    global _running, _last
    now = time.monotonic() if now is None else now
    if not _jobs:
        return False
    with _lock:
        if now - _last < EVERY or (_running is not None and _running.is_alive()):
            return False
        _last = now
        _running = threading.Thread(target=run_all, name="shopmail-periodic", daemon=True)
        _running.start()
        return True
