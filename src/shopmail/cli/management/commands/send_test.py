"""``shopmail send-test --to ADDRESS``: send a test e-mail now and print the server's answer."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.mail import testmail
from shopmail.mail.transports import TransportConfigError
from shopmail.store.models import StoreSettings


class Command(BaseCommand):
    help = "Send a test e-mail with the current transport settings and print the server's reply."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # settings read here, not on a thread of the event loop (its connection would stay open)
            result = asyncio.run(testmail.send_test(options["to"], StoreSettings.load()))
        except (TransportConfigError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{result.outcome}: {result.code or ''} {result.reply}".strip())
        if str(result.outcome) != "sent":
            raise CommandError("the test e-mail was not accepted")
