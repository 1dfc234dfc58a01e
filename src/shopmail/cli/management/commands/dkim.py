"""``shopmail dkim generate --domain D --selector S``: make and store a DKIM key, print the DNS record.

``shopmail dkim show`` prints the record for the stored key; ``shopmail dkim import --domain D
--selector S --key FILE`` stores an existing PEM key (PKCS#1 or PKCS#8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shopmail.domain import dkim
from shopmail.mail import signing
from shopmail.store.models import StoreSettings


class Command(BaseCommand):
    help = "Make (or import) the DKIM key messages are signed with, and print the DNS TXT record."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser("generate", help="make a new 2048-bit RSA key and store it")
        generate.add_argument("--domain", required=True)
        generate.add_argument("--selector", required=True)
        generate.add_argument("--bits", type=int, default=2048, choices=(1024, 2048, 3072, 4096))
        imported = sub.add_parser("import", help="store an existing PEM private key")
        imported.add_argument("--domain", required=True)
        imported.add_argument("--selector", required=True)
        imported.add_argument("--key", required=True, help="a PEM file (PKCS#1 or PKCS#8, not encrypted)")
        sub.add_parser("show", help="print the DNS record of the stored key")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = StoreSettings.load()
        action = options["action"]
        try:
            if action == "show":
                signer = signing.signer_for(settings.dkim or {})
                if signer is None:
                    raise CommandError(
                        "no DKIM key is set up: shopmail dkim generate --domain D --selector S"
                    )
            else:
                if action == "generate":
                    pem = dkim.generate_key(options["bits"])
                else:
                    try:
                        pem = Path(options["key"]).read_text("ascii")
                    except (OSError, UnicodeDecodeError) as exc:
                        raise CommandError(f"cannot read the key file: {exc}") from None
                signer = signing.store_key(settings, options["domain"], options["selector"], pem)
        except dkim.DkimError as exc:
            raise CommandError(str(exc)) from None
        if action != "show":
            self.stderr.write(
                f"Stored the key; every message is now signed as d={signer.domain} s={signer.selector}."
            )
            self.stderr.write("Publish this TXT record in your DNS zone, then run `shopmail check`:")
        self.stdout.write(dkim.txt_line(signer))
