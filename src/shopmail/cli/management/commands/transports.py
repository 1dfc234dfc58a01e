"""``shopmail transports``: which ways of sending mail are usable here."""

from __future__ import annotations

import asyncio
from typing import IO, Any, cast

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.table import Table

from shopmail.mail.transports.detect import detect
from shopmail.store.models import StoreSettings


class Command(BaseCommand):
    help = (
        "Detect usable transports: the configured SMTP server and its capabilities, sendmail, an MTA on :25."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        store = StoreSettings.load()
        smtp = store.transport if store.transport.get("kind") == "smtp" else None
        found = asyncio.run(detect(smtp))
        table = Table(title=f"Transports (current: {store.transport.get('kind')})")
        table.add_column("transport")
        table.add_column("usable")
        table.add_column("detail")
        for item in found:
            table.add_row(item.name, "yes" if item.usable else "no", item.detail)
        Console(file=cast(IO[str], self.stdout)).print(table)
