"""VERP envelope senders: ``bounces+<message>-<check>@<bounce domain>`` names the message a bounce is
about even when the report quotes nothing of it. The check (an HMAC of the message id under the
secret key) keeps a forged bounce from marking arbitrary messages."""

from __future__ import annotations

import hmac
import re

from django.utils.crypto import salted_hmac

_LOCAL = re.compile(r"^bounces\+([0-9a-z]{1,13})-([0-9a-f]{12})$")


def _check(message_pk: int) -> str:
    return salted_hmac("shopmail.verp", str(message_pk), algorithm="sha256").hexdigest()[:12]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def envelope_sender(bounce_domain: str, message_pk: int) -> str:
    return f"bounces+{_base36(message_pk)}-{_check(message_pk)}@{bounce_domain}"


def message_pk(address: str) -> int | None:
    """The message a VERP address names, ``None`` for any other address or a wrong check."""
    local, _, _domain = address.strip().strip("<>").rpartition("@")
    match = _LOCAL.match(local.lower())
    if match is None:
        return None
    pk = int(match.group(1), 36)
    return pk if hmac.compare_digest(_check(pk), match.group(2)) else None
