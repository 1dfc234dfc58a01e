"""``shopmail worker [--concurrency N] [--processes P] [--once]``: the delivery worker alone."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.mail import warmup
from shopmail.mail.worker import Worker, log
from shopmail.sqlite import checkpoint


class Command(BaseCommand):
    help = (
        "Deliver queued mail. Several workers may run against one PostgreSQL. "
        "SIGTERM finishes the batch in flight."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency", type=int, default=4, help="parallel SMTP connections (default 4)"
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="worker processes, each with its own connections (default 1; one a core at most)",
        )
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between looks for new mail")

    def handle(self, *args: Any, **options: Any) -> None:
        processes = options["processes"]
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        parent = os.environ.pop(_PARENT, None)
        if parent:  # one of a team: stop when the process that started it dies
            _die_with(int(parent))
        stop = threading.Event()
        team = _Team(
            processes - 1,
            ["--concurrency", str(options["concurrency"]), "--poll", str(options["poll"])]
            + (["--once"] if options["once"] else []),
            restart=not options["once"],
            stop=stop,
        )

        def stop_all() -> None:
            stop.set()
            team.stop()

        _on_stop_signal(stop_all)
        team.start()
        if not options["once"]:  # a long-lived worker: ready before its first batch
            warmup.warm()  # a large sync's e-mails are composed here (ADR 0011)
            warmup.settle()
        # the WAL's checkpoints off the claims' path (SQLite): one for the team, in its first process
        checkpointer = None if parent else checkpoint.start(stop)
        try:
            worker = Worker(concurrency=options["concurrency"], poll=options["poll"], stop=stop)
            asyncio.run(worker.run(once=options["once"]))
        except BaseException:
            team.stop()
            raise
        finally:
            # --once: the others finish draining on their own (a SIGTERM would make them give
            # back the batch they had claimed ahead)
            failed = team.wait()  # sets stop
            if checkpointer is not None:
                checkpointer.thread.join(timeout=5)
        if failed:
            raise CommandError(f"{failed} worker process(es) ended with an error")


class _Team:
    """The other worker processes of ``--processes``: each claims its own batches (claims are
    atomic, see ``mail.worker``), so together they deliver every message once. One that dies
    while the team runs is started again (its claimed messages are taken over when their
    lease expires); they get SIGTERM when this process is told to stop, and die with it."""

    def __init__(self, count: int, options: list[str], *, restart: bool, stop: threading.Event) -> None:
        self.argv = [sys.executable, "-m", "shopmail.cli", "worker", *options]
        self.env = {**os.environ, _PARENT: str(os.getpid())}
        self.count, self.restart, self._stop = count, restart, stop
        self.children: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()  # also taken by the stop thread, maybe during start()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self.children = [self._spawn() for _ in range(self.count)]
        if self.count and self.restart:
            self._watcher = threading.Thread(target=self._watch, name="shopmail-team", daemon=True)
            self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv, env=self.env)

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                for index, child in enumerate(self.children):
                    if child.poll() is not None and not self._stop.is_set():
                        log.error(
                            "worker process %s ended (code %s); starting another", child.pid, child.returncode
                        )
                        self.children[index] = self._spawn()

    def stop(self) -> None:
        with self._lock:  # a child the watcher is starting right now gets it too
            for child in self.children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

    def wait(self) -> int:
        """Wait for every process; returns how many ended with an error."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self.stop()  # one started while the stop signal came in
        return sum(1 for child in self.children if child.wait() not in (0, -signal.SIGTERM))


_PARENT = "SHOPMAIL_WORKER_PARENT"


def _on_stop_signal(action: Callable[[], None]) -> None:
    """Run ``action`` once, on a thread of its own, when SIGTERM or SIGINT comes.

    The handler only writes a byte to a pipe. It must take no lock: a handler runs between two
    steps of whatever the main thread was doing, and one that took a lock (``Event.set`` does)
    deadlocked the process when a second SIGTERM came while the first handler held it (a team
    member gets two when its parent dies: the kernel's and its own watcher's).
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def wait() -> None:
        os.read(read_end, 1)
        action()

    def handler(*_: Any) -> None:
        with contextlib.suppress(BlockingIOError):  # a byte is waiting already
            os.write(write_end, b"x")

    threading.Thread(target=wait, name="shopmail-stop", daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _die_with(parent: int) -> None:
    """Stop (SIGTERM to this process: the graceful stop) when the process ``parent`` dies, or
    now if it already has. The kernel sends it on Linux (``prctl``, set here in the child, not
    between fork and exec, which is unsafe with threads); a thread that looks every second
    covers everything else."""
    with contextlib.suppress(OSError, AttributeError, ctypes.ArgumentError):  # not Linux
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        raise CommandError("the worker process that started this one has ended")

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="shopmail-parent", daemon=True).start()
