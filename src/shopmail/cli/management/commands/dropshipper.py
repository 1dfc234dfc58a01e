"""``shopmail dropshipper create --name N --email E --supplier S [--supplier S2]`` (SPEC sections 1
and 7), also ``list`` and ``delete EMAIL``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.dropship import service
from shopmail.dropship.models import DropShipper


class Command(BaseCommand):
    help = "Drop-shipper logins: each gets a dropshipper_invite e-mail with a one-time link (no password)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a login and e-mail its invitation link")
        create.add_argument("--name", required=True, help="shown to the customer in the shipment e-mail")
        create.add_argument("--email", required=True, help="the login; the invitation goes here")
        create.add_argument(
            "--supplier", action="append", required=True, help="a supplier name it ships for (repeatable)"
        )
        sub.add_parser("list", help="list drop-shippers")
        delete = sub.add_parser("delete", help="remove a drop-shipper login")
        delete.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            try:
                dropshipper, message = service.create(options["name"], options["email"], options["supplier"])
            except service.Invalid as exc:
                raise CommandError(str(exc)) from None
            sent = f"invitation queued as message {message.pk}" if message else "dropshipper_invite is off"
            self.stdout.write(f"drop-shipper {dropshipper.pk} {dropshipper} created; {sent}")
        elif action == "list":
            for d in DropShipper.objects.select_related("user").order_by("name"):
                state = "signed up" if d.user.has_usable_password() else "invited"
                self.stdout.write(f"{d.pk}\t{d.name}\t{d.email}\t{', '.join(d.suppliers)}\t{state}")
        else:
            found = DropShipper.objects.filter(email__iexact=options["email"].strip()).first()
            if found is None:
                raise CommandError(f"no drop-shipper {options['email']!r}")
            service.delete(found)
            self.stdout.write(f"drop-shipper {found} removed")
