"""One-time links for invitations and password resets.

The token is 256 random bits, sent in the link and never stored: the database keeps its
SHA-256 digest. A token works once, until it expires, and only for its purpose; choosing a
password through any link voids every other open link of that account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from shopmail.account.models import AccountToken, CustomerAccount

LIFETIME = {
    AccountToken.Purpose.INVITE: dt.timedelta(days=7),
    AccountToken.Purpose.RESET: dt.timedelta(hours=24),
}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(account: CustomerAccount, purpose: str) -> tuple[AccountToken, str]:
    """A new token (row, plain token). Older open tokens of the same purpose are voided."""
    now = timezone.now()
    AccountToken.objects.filter(account=account, purpose=purpose, used_at__isnull=True).update(used_at=now)
    plain = secrets.token_urlsafe(32)
    row = AccountToken.objects.create(
        account=account,
        purpose=purpose,
        digest=digest(plain),
        created_at=now,
        expires_at=now + LIFETIME[AccountToken.Purpose(purpose)],
    )
    return row, plain


def find(plain: str, purpose: str) -> AccountToken | None:
    """The open, unexpired token of this purpose, or None."""
    if not plain or len(plain) > 200:
        return None
    row = (
        AccountToken.objects.select_related("account__customer")
        .filter(digest=digest(plain), purpose=purpose)
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= timezone.now():
        return None
    return row


def consume(plain: str, purpose: str) -> CustomerAccount | None:
    """Use the token once (inside the caller's transaction); the account, or None if it is spent."""
    with transaction.atomic():
        row = find(plain, purpose)
        if row is None:
            return None
        now = timezone.now()
        used = AccountToken.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
        if used != 1:  # a concurrent request used it first
            return None
        AccountToken.objects.filter(account=row.account, used_at__isnull=True).update(used_at=now)
        return row.account
