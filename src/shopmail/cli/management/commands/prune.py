"""``shopmail prune``: drop the bodies of finished messages older than the retention period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.mail import retention


class Command(BaseCommand):
    help = (
        "Drop the bodies (text, HTML, sent bytes, render context) of sent, failed, cancelled and bounced "
        "messages older than SHOPMAIL_RETENTION_DAYS (default 90); the log rows, subjects and outcomes stay. "
        "The delivery worker does this hourly by itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="override SHOPMAIL_RETENTION_DAYS for this run")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            days = retention.retention_days() if options["days"] is None else options["days"]
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if days < 0:
            raise CommandError("--days must be 0 or more")
        if days == 0:
            self.stdout.write("retention is off (0 days): every message body is kept")
            return
        result = retention.prune(days, dry_run=options["dry_run"])
        verb = "would drop" if options["dry_run"] else "dropped"
        self.stdout.write(
            f"{verb} the bodies of {result.messages} messages finished before "
            f"{result.cutoff:%Y-%m-%d %H:%M} UTC ({days} days); their log rows and outcomes stay"
        )
