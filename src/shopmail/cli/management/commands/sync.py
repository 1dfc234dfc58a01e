"""``shopmail sync FILE [--dry-run] [--silent] [--partial]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopmail.flows import ingest
from shopmail.store import syncfile


class Command(BaseCommand):
    help = "Ingest a sync document (JSON, or NDJSON with a 'kind' per line) and print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path to the JSON or NDJSON document ('-' for stdin)")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would be sent; change nothing"
        )
        parser.add_argument("--silent", action="store_true", help="store everything but send no e-mail")
        parser.add_argument("--partial", action="store_true", help="apply valid items, list rejected ones")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), stderr=False)
        path = options["file"]
        try:
            doc = syncfile.parse(sys.stdin.buffer.read()) if path == "-" else syncfile.parse_file(Path(path))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except syncfile.SyncFileError as exc:
            raise CommandError(f"{path}: {exc}; nothing was applied") from None
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("Checking and applying", total=len(doc))
            try:
                result = ingest.ingest(
                    **doc.lists(),
                    silent=options["silent"] or doc.silent,
                    dry_run=options["dry_run"],
                    partial=options["partial"],
                    source="cli",
                    listed=ingest.LISTED,
                    progress=lambda n: progress.advance(task, n),
                )
            except ingest.Rejected as exc:
                for error in exc.errors[:50]:
                    console.print(
                        f"[red]{'.'.join(map(str, error['loc']))}[/red]: {error['msg']}",
                        markup=True,
                        highlight=False,
                    )
                first = exc.errors[0]
                raise CommandError(
                    f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
                    + (f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else "")
                    + "; nothing was applied (use --partial to apply the valid items)"
                ) from None
            progress.update(task, description="Done")
        self._summary(console, result, options["dry_run"])

    def _summary(self, console: Console, result: ingest.RunResult, dry_run: bool) -> None:
        table = Table(title="Sync summary" + (" (dry run: nothing was changed)" if dry_run else ""))
        for column in ("", "seen", "new", "changed", "unchanged", "stale", "rejected"):
            table.add_column(column, justify="right" if column else "left")
        for kind, counts in result.counts.items():
            table.add_row(
                kind,
                *(
                    str(getattr(counts, name))
                    for name in ("seen", "new", "changed", "unchanged", "stale", "rejected")
                ),
            )
        console.print(table)
        by_notification: dict[str, int] = {}
        for message in result.messages:
            by_notification[message["notification"]] = by_notification.get(message["notification"], 0) + 1
        verb = "would be queued" if dry_run else "queued"
        if by_notification:
            mails = Table(title=f"E-mails {verb}")
            mails.add_column("notification")
            mails.add_column("count", justify="right")
            for key, count in sorted(by_notification.items()):
                mails.add_row(key, str(count))
            console.print(mails)
        else:
            console.print(f"No e-mails {verb}.")
        for rejected in result.rejected[:20]:
            console.print(
                f"rejected {rejected['kind']}[{rejected['index']}] {rejected['id'] or ''}: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in rejected["errors"]),
                highlight=False,
                markup=False,
            )
