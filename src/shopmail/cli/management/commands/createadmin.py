"""``shopmail createadmin --email E [--password P]``: a control-panel user."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.domain.snapshot import _email


class Command(BaseCommand):
    help = "Create (or reset the password of) a control-panel staff user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="prompted for when left out")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            email = _email(options["email"]).lower()
        except ValueError as exc:
            raise CommandError(f"--email {exc}") from None
        password = options["password"] or getpass.getpass("Password: ")
        User = get_user_model()
        user = User.objects.filter(username=email).first() or User(username=email, email=email)
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        created = user.pk is None
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'Created' if created else 'Updated'} staff user {email}")
