"""Creating and checking API keys.

A key looks like ``sm_<prefix>_<secret>``. Only an Argon2 hash of it is stored; the prefix finds
the row. Argon2 is slow on purpose, so a process remembers (in memory, by SHA-256) the keys it
has already verified; the row is still read on every request, so revoking works at once.
Requests that arrive together with the same unverified key wait for one verification instead
of each running Argon2 (a shop's sync client opening 16 connections at once made every one of
them wait for 16 hashes on 2 cores).

A key may have an owner (it dies when the owner is deactivated), scopes (``allows``) and an
expiry; ``check`` refuses a key past its expiry or whose owner is no longer active.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import secrets
import threading
from collections.abc import Iterable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.utils import timezone

from shopmail import db
from shopmail.api.models import ApiKey

_hasher = PasswordHasher()
_verified: dict[int, str] = {}
_verifying: dict[int, threading.Lock] = {}  # one Argon2 verification per key at a time
_lock = threading.Lock()


# what each scope may call (path under /api/v1); a key without scopes may call everything
_INGEST = (
    ("PUT", re.compile(r"^/(orders|customers)/[^/]+$")),
    ("PUT", re.compile(r"^/products/[^/]+$")),
    ("POST", re.compile(r"^/(sync|events)$")),
)


def create(
    name: str,
    owner: Any = None,
    scopes: Iterable[str] = (),
    expires_at: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored."""
    chosen = sorted(set(scopes))
    unknown = set(chosen) - set(ApiKey.SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(sorted(unknown))}; use {' or '.join(ApiKey.SCOPES)}")
    prefix = secrets.token_hex(6)
    plain = f"sm_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        hashed=_hasher.hash(plain),
        owner=owner,
        scopes=chosen,
        expires_at=expires_at,
    )
    return key, plain


def allows(key: ApiKey, method: str, path: str) -> bool:
    """Whether ``key``'s scopes cover ``method path`` (``path`` under ``/api/v1``)."""
    scopes = set(key.scopes or ())
    if not scopes:
        return True
    if "read" in scopes and method in ("GET", "HEAD", "OPTIONS"):
        return True
    return "ingest" in scopes and any(method == m and pattern.match(path) for m, pattern in _INGEST)


def usable(key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Not revoked, not expired, and its owner (if any) still an active user."""
    return _live(key, key.owner_id is None or bool(key.owner and key.owner.is_active), now)


def _live(key: ApiKey, owner_active: bool, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return False
    return owner_active


def _lookup(prefix: str) -> tuple[ApiKey, bool] | None:
    """The unrevoked key with ``prefix``, read on every request (revoking works at once), and
    whether its owner (if any) is an active user: one hand-written statement, as building it
    through the ORM cost more than the rest of the check."""
    user: Any = get_user_model()
    sql = (  # identifiers come from the models' metadata; the prefix is a parameter
        f"SELECT {db.select_list(ApiKey, 'k')}, u.{db.column(user, 'is_active')} "
        f"FROM {db.table(ApiKey)} k LEFT JOIN {db.table(user)} u "
        f"ON u.{db.column(user, 'pk')} = k.{db.column(ApiKey, 'owner')} "
        f"WHERE k.{db.column(ApiKey, 'prefix')} = %s AND k.{db.column(ApiKey, 'revoked_at')} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    key = db.instances(ApiKey, [row])[0]
    return key, key.owner_id is None or bool(row[-1])


def check(plain: str) -> ApiKey | None:
    parts = plain.split("_")
    if len(parts) < 3 or parts[0] != "sm" or len(plain) > 200:
        return None
    found = _lookup(parts[1])
    if found is None or not _live(*found):
        _hasher.hash("sm_timing_equaliser")  # unknown keys cost as much as wrong ones
        return None
    key = found[0]
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
