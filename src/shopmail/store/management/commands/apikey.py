"""``shopmail apikey create --name N`` (also ``list`` and ``revoke PREFIX``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.api import keys
from shopmail.api.models import ApiKey


class Command(BaseCommand):
    help = "Manage API keys. A new key is printed once; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it once")
        create.add_argument("--name", required=True)
        sub.add_parser("list", help="list keys (never the secrets)")
        revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            name = options["name"].strip()
            if not name or len(name) > 100:
                raise CommandError("--name must be 1-100 characters")
            _, plain = keys.create(name)
            self.stdout.write(plain)
        elif action == "list":
            for key in ApiKey.objects.order_by("created_at"):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}  {key.name}  created {key.created_at:%Y-%m-%d}  {state}")
        else:
            found = ApiKey.objects.filter(prefix=options["prefix"], revoked_at__isnull=True).first()
            if found is None:
                raise CommandError(f"no active key with prefix {options['prefix']!r}")
            keys.revoke(found)
            self.stdout.write(f"Revoked {found.prefix} ({found.name})")
