"""``shopmail pull shopify|woocommerce [--since T] [--dry-run]`` ("Get Website Data")."""

from __future__ import annotations

import datetime as dt
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopmail.connectors import pull
from shopmail.connectors.client import PullError


def _since(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        example = "2026-11-20T10:00:00+00:00"
        raise CommandError(f"--since {value!r} is not an ISO 8601 time, e.g. {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Fetch the orders changed since the last pull from the shop's REST API and sync them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("platform", choices=pull.PLATFORMS)
        parser.add_argument(
            "--since", help="ISO 8601 time to pull from (default: the last pull, else notify_since)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would be sent; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), stderr=False)
        platform = options["platform"]
        since = _since(options["since"]) if options["since"] else None
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        ) as bar:
            pages = bar.add_task(f"Fetching {platform} orders (pages)", total=None)
            orders = bar.add_task("Syncing orders", total=None, visible=False)
            hooks = pull.Progress(
                pages_total=lambda total: bar.update(pages, total=total),
                page_done=lambda items: bar.advance(pages, 1),
                orders_total=lambda total: bar.update(orders, total=total, visible=True),
                orders_done=lambda count: bar.advance(orders, count),
            )
            try:
                summary = pull.pull(platform, since=since, dry_run=options["dry_run"], progress=hooks)
            except PullError as exc:
                raise CommandError(f"pull from {platform} stopped, nothing was applied: {exc}") from None
        self._summary(console, summary)

    def _summary(self, console: Console, summary: pull.PullSummary) -> None:
        title = f"Pull from {summary.platform} since {summary.since}"
        table = Table(title=title + (" (dry run: nothing was changed)" if summary.dry_run else ""))
        for column in ("pages", "orders", "new", "changed", "unchanged", "stale", "rejected", "e-mails"):
            table.add_column(column, justify="right")
        counts = summary.run.get("counts", {}).get("orders", {})
        table.add_row(
            str(summary.pages),
            str(summary.fetched),
            *(str(counts.get(name, 0)) for name in ("new", "changed", "unchanged", "stale", "rejected")),
            str(len(summary.run.get("messages", []))),
        )
        console.print(table)
        by_notification: dict[str, int] = {}
        for message in summary.run.get("messages", []):
            by_notification[message["notification"]] = by_notification.get(message["notification"], 0) + 1
        verb = "would be queued" if summary.dry_run else "queued"
        if by_notification:
            console.print(
                f"E-mails {verb}: " + ", ".join(f"{key} {n}" for key, n in sorted(by_notification.items())),
                highlight=False,
            )
        for rejected in summary.run.get("rejected", [])[:20]:
            console.print(
                f"rejected order {rejected['id'] or rejected['index']}: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in rejected["errors"]),
                highlight=False,
                markup=False,
            )
        if not summary.dry_run:
            console.print(f"Next pull starts from {summary.cursor}.", highlight=False)
