"""The ``shopmail`` command: a thin front over Django management commands.

The commands themselves are in ``shopmail/cli/management/commands/`` (this package is also the
Django app that holds them: an adapter layer, like the API and the panel)."""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "serve": "serve",
    "worker": "worker",
    "migrate": "migrate",
    "createadmin": "createadmin",
    "apikey": "apikey",
    "sync": "sync",
    "transports": "transports",
    "send-test": "send_test",
    "demo": "demo",
    "pull": "pull",
    "dkim": "dkim",
    "bounces": "bounces",
    "check": "deploy_check",
    "backup": "backup",
    "prune": "prune",
    "dropshipper": "dropshipper",
}

USAGE = """usage: shopmail COMMAND [options]

Commands:
  serve [--host H] [--port P] [--no-worker]   web (API, control panel, My page) and the delivery worker
  worker [--concurrency N] [--processes P] [--once]
                                              the delivery worker alone
  migrate                                     create or upgrade the database schema
  createadmin --email E [--password P]        a control-panel user
  apikey create --name N                      print a new API key (shown once)
  sync FILE [--dry-run] [--silent]            ingest a JSON or NDJSON sync document
  transports                                  detect which mail transports are usable here
  send-test --to ADDRESS                      send a test e-mail with the current transport
  demo                                        fill an empty database with a demo store
  pull shopify|woocommerce [--since T] [--dry-run]
                                              fetch changed orders from the shop's REST API and sync them
  dkim generate --domain D --selector S       make and store a DKIM key, print the DNS record
  bounces --listen HOST:PORT                  take bounce and complaint reports over SMTP
  check [--quiet]                             what is unsafe or wrong in this deployment (exit 1 on an error)
  backup FILE                                 a consistent copy of the SQLite database while it runs
  prune [--days N] [--dry-run]                drop message bodies older than SHOPMAIL_RETENTION_DAYS (90)
  dropshipper create --name N --email E --supplier S [--supplier S2]
                                              a drop-shipper login (an invitation link is e-mailed)

Run "shopmail COMMAND --help" for the options of one command.
Environment: SHOPMAIL_DATA_DIR, DATABASE_URL, SHOPMAIL_SECRET_KEY, SHOPMAIL_SMTP_URL, SHOPMAIL_BASE_URL,
SHOPMAIL_TRUSTED_PROXIES, SHOPMAIL_RETENTION_DAYS.
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(USAGE)
        return 0
    name = COMMANDS.get(args[0])
    if name is None:
        sys.stderr.write(f"shopmail: unknown command {args[0]!r}\n\n{USAGE}")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopmail.settings")
    os.umask(0o077)  # the database, captured mail, journals and backups: readable by the owner only
    from shopmail.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        sys.stderr.write(f"shopmail: configuration error: {exc}\n")
        return 2
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"shopmail {args[0]}", name, *args[1:]])
    return 0
