"""``shopmail worker [--concurrency N] [--once]``: the delivery worker alone."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shopmail.mail.worker import Worker


class Command(BaseCommand):
    help = (
        "Deliver queued mail. Several workers may run against one PostgreSQL. "
        "SIGTERM finishes the batch in flight."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency", type=int, default=4, help="parallel SMTP connections (default 4)"
        )
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between looks for new mail")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        worker = Worker(concurrency=options["concurrency"], poll=options["poll"], stop=stop)
        asyncio.run(worker.run(once=options["once"]))
