"""``shopmail backup FILE``: a consistent copy of the SQLite database, taken while the service runs."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

PAGES_PER_STEP = 4096  # 16 MB at SQLite's 4 KB pages: writers wait at most one step


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the SQLite database to FILE while shopmail keeps running "
        "(SQLite's online backup API). Restore: stop shopmail, put FILE in place of the database, "
        "start shopmail (docs/deploy/README.md). On PostgreSQL, use pg_dump."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="where to write the copy (a new file; an existing one is replaced)")

    def handle(self, *args: Any, **options: Any) -> None:
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "shopmail.sqlite" and "sqlite" not in database["ENGINE"]:
            raise CommandError(
                "the database is PostgreSQL: back it up with pg_dump, e.g. "
                f"`pg_dump --format=custom --file=shopmail.dump {database.get('NAME') or 'shopmail'}` "
                "(restore with pg_restore --clean --dbname=...)"
            )
        source = Path(database["NAME"])
        if not source.exists():
            raise CommandError(f"no database at {source}: run `shopmail migrate` first")
        target = Path(options["file"]).expanduser().resolve()
        if target == source.resolve():
            raise CommandError("FILE is the live database itself; choose another path")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        started = time.monotonic()
        src = sqlite3.connect(source, timeout=60)  # only read from; WAL lets the service write meanwhile
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds secrets
            os.close(fd)
            dst = sqlite3.connect(partial)
            try:
                # Copies page by page; a write in between restarts the copy of what changed, so the
                # result is the database as of one moment, whatever the service wrote meanwhile.
                src.backup(dst, pages=PAGES_PER_STEP, sleep=0.005)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                check = dst.execute("PRAGMA integrity_check").fetchone()[0]
                if check != "ok":
                    raise CommandError(f"the copy failed SQLite's integrity check: {check}")
                messages = _count(dst, "mail_message")
                orders = _count(dst, "store_order")
            finally:
                dst.close()
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            src.close()
        os.replace(partial, target)
        size = target.stat().st_size
        self.stdout.write(
            f"backup written to {target} ({size / 1e6:.1f} MB, {orders} orders, {messages} messages, "
            f"{time.monotonic() - started:.1f} s); restore: see docs/deploy/README.md"
        )


def _count(conn: sqlite3.Connection, table: str) -> int | str:
    try:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    except sqlite3.Error:
        return "?"
