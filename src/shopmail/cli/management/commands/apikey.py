"""``shopmail apikey create --name N`` (also ``list`` and ``revoke PREFIX``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from shopmail.api import keys
from shopmail.api.models import ApiKey


class Command(BaseCommand):
    help = "Manage API keys. A new key is printed once; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it once")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--owner", help="the staff user (e-mail) it belongs to; it dies with their account"
        )
        create.add_argument(
            "--scope", action="append", choices=ApiKey.SCOPES, default=[], help="limit it (repeatable)"
        )
        create.add_argument("--expires-days", type=int, help="stop working after this many days")
        sub.add_parser("list", help="list keys (never the secrets)")
        revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            name = options["name"].strip()
            if not name or len(name) > 100:
                raise CommandError("--name must be 1-100 characters")
            owner = None
            if options.get("owner"):
                owner = get_user_model().objects.filter(username=options["owner"].strip().lower()).first()
                if owner is None or not owner.is_active:
                    raise CommandError(f"no active user {options['owner']!r}")
            days = options.get("expires_days")
            if days is not None and days < 1:
                raise CommandError("--expires-days must be at least 1")
            _, plain = keys.create(
                name,
                owner=owner,
                scopes=options.get("scope") or (),
                expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
            )
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
