"""Secrets kept at rest (the SMTP password) encrypted with a key derived from the secret key.

``seal(text)`` gives ``"sealed:v1:<Fernet token>"``; ``unseal(value)`` gives the text back. The
Fernet key is HKDF-SHA256 of Django's ``SECRET_KEY`` with a purpose label, so the database file
(or a backup of it) alone does not give the password away. A value without the prefix is an
older plaintext one and is returned as it is (it is sealed the next time it is saved). A value
sealed under another secret key cannot be read: ``unseal`` raises ``SecretUnreadable``.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "sealed:v1:"
_PURPOSE = b"shopmail transport secret v1"


class SecretUnreadable(ValueError):
    """The stored secret was sealed with another secret key (or is damaged)."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(text: str) -> str:
    if is_sealed(text):
        return text
    return PREFIX + _fernet(settings.SECRET_KEY).encrypt(text.encode()).decode("ascii")


def unseal(value: str) -> str:
    if not is_sealed(value):
        return value
    try:
        return _fernet(settings.SECRET_KEY).decrypt(value[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(
            "the stored SMTP password was encrypted with another secret key; enter it again"
        ) from None


def sealed_transport(transport: dict[str, object]) -> dict[str, object] | None:
    """``transport`` with a plaintext password (stored by an older version) sealed, or None when
    there is nothing to seal. ``shopmail serve`` applies it at start."""
    password = transport.get("password")
    if not isinstance(password, str) or not password or is_sealed(password):
        return None
    return {**transport, "password": seal(password)}
