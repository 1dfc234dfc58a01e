"""Creating and checking API keys.

A key looks like ``sm_<prefix>_<secret>``. Only an Argon2 hash of it is stored; the prefix finds
the row. Argon2 is slow on purpose, so a process remembers (in memory, by SHA-256) the keys it
has already verified; the row is still read on every request, so revoking works at once.
Requests that arrive together with the same unverified key wait for one verification instead
of each running Argon2 (a shop's sync client opening 16 connections at once made every one of
them wait for 16 hashes on 2 cores).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.db import DatabaseError
from django.utils import timezone

from shopmail.api.models import ApiKey

_hasher = PasswordHasher()
_verified: dict[int, str] = {}
_verifying: dict[int, threading.Lock] = {}  # one Argon2 verification per key at a time
_lock = threading.Lock()


def create(name: str) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored."""
    prefix = secrets.token_hex(6)
    plain = f"sm_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(name=name, prefix=prefix, hashed=_hasher.hash(plain))
    return key, plain


def check(plain: str) -> ApiKey | None:
    parts = plain.split("_")
    if len(parts) < 3 or parts[0] != "sm" or len(plain) > 200:
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None:
        _hasher.hash("sm_timing_equaliser")  # unknown keys cost as much as wrong ones
        return None
    digest = hashlib.sha256(plain.encode()).hexdigest()
    if not _known(key.pk, digest):
        with _lock:
            verifying = _verifying.setdefault(key.pk, threading.Lock())
        with verifying:
            if not _known(key.pk, digest):  # not verified meanwhile by a request that waited with us
                try:
                    _hasher.verify(key.hashed, plain)
                except (VerificationError, InvalidHashError):
                    return None
                with _lock:
                    _verified[key.pk] = digest
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        # a bookkeeping write: a database that cannot take it (disk full) does not refuse the key
        with contextlib.suppress(DatabaseError):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def _known(pk: int, digest: str) -> bool:
    with _lock:
        known = _verified.get(pk)
    return known is not None and secrets.compare_digest(known, digest)


def revoke(key: ApiKey) -> None:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    with _lock:
        _verified.pop(key.pk, None)
