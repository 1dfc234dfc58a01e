"""Fixed-window rate limits in the database, shared by every web process."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from shopmail.account.models import Throttle
from shopmail.core.client_ip import client_ip as client_ip  # one client-IP rule for every limit


@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    window: dt.timedelta


LOGIN_FAILURES = Limit("login", 5, dt.timedelta(minutes=15))  # per e-mail address (the account)
LOGIN_FAILURES_IP = Limit("login-ip", 50, dt.timedelta(minutes=15))
RESET_REQUESTS = Limit("reset", 3, dt.timedelta(hours=1))  # per e-mail address
RESET_REQUESTS_IP = Limit("reset-ip", 20, dt.timedelta(hours=1))
TOKEN_ATTEMPTS_IP = Limit("token-ip", 30, dt.timedelta(hours=1))  # set-password posts per IP
CONTACT_POSTS_IP = Limit("contact-ip", 5, dt.timedelta(hours=1))
HELPDESK_POSTS = Limit("helpdesk", 20, dt.timedelta(hours=1))  # per customer


def _key(limit: Limit, ident: str) -> str:
    return hashlib.sha256(f"{limit.scope}\0{ident.strip().lower()}".encode()).hexdigest()


def _current(row: Throttle, limit: Limit, now: dt.datetime) -> int:
    return 0 if row.window_start <= now - limit.window else row.count


def blocked(limit: Limit, ident: str) -> bool:
    """True when ``ident`` used up its allowance in the current window (counts nothing)."""
    row = Throttle.objects.filter(key=_key(limit, ident)).first()
    return row is not None and _current(row, limit, timezone.now()) >= limit.count


def hit(limit: Limit, ident: str) -> bool:
    """Count one use; False (and nothing counted) when the allowance is used up."""
    key, now = _key(limit, ident), timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                row = Throttle.objects.select_for_update().filter(key=key).first()
                if row is None:
                    Throttle.objects.create(key=key, window_start=now, count=1)
                    break
                if row.window_start <= now - limit.window:
                    row.window_start, row.count = now, 0
                if row.count >= limit.count:
                    return False
                row.count += 1
                row.save(update_fields=["window_start", "count"])
                break
        except IntegrityError:  # a concurrent first hit created the row: count again on it
            continue
    if secrets.randbelow(200) == 0:
        Throttle.objects.filter(window_start__lt=now - dt.timedelta(days=2)).delete()
    return True


def clear(limit: Limit, ident: str) -> None:
    Throttle.objects.filter(key=_key(limit, ident)).delete()
