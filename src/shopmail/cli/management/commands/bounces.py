"""``shopmail bounces --listen HOST:PORT``: an SMTP server that takes bounce and complaint reports.

Point the bounce domain's MX (or the relay's bounce routing) here. Each message is read with
``deliverability.intake``; the reply is 250 once the report's consequences are stored, 451 (try
again later) when the database cannot take them, so a report is never lost.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from shopmail.mail.deliverability import intake

log = logging.getLogger("shopmail.bounces")


def _receive(content: bytes, rcpt_tos: list[str]) -> intake.Outcome:
    close_old_connections()
    try:
        return intake.receive(content, rcpt_tos, via="smtp")
    finally:
        close_old_connections()


class BounceHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        try:
            await asyncio.to_thread(_receive, content, list(envelope.rcpt_tos))
        except DatabaseError as exc:
            log.warning("bounce report not stored, sender asked to retry", extra={"error": str(exc)})
            return "451 4.3.0 Cannot store the report now, try again later"
        return "250 2.0.0 Report received"


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CommandError(f"--listen must be HOST:PORT, not {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class Command(BaseCommand):
    help = "Listen for bounce and complaint reports over SMTP (SPEC section 9)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--listen", required=True, metavar="HOST:PORT")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = parse_listen(options["listen"])
        controller = Controller(
            BounceHandler(),
            hostname=host,
            port=port,
            data_size_limit=intake.MAX_REPORT_BYTES,
            server_hostname="shopmail-bounces",
        )
        try:
            controller.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
        self.stdout.write(f"shopmail bounces: listening on {host}:{controller.port}", ending="\n")
        self.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            loop.run_until_complete(stop.wait())
        finally:
            controller.stop()
            loop.close()
