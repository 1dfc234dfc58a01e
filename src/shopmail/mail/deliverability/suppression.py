"""The suppression list: who is not mailed, and why (SPEC section 9)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from shopmail import db
from shopmail.domain import mime
from shopmail.mail.deliverability.models import Reason, Scope, Suppression
from shopmail.store import feed


def normalize(email: str) -> str:
    try:
        return mime.normalize_email(email).lower()
    except (ValueError, mime.HeaderError):
        return email.strip().lower()


def suppress(email: str, reason: str, scope: str, detail: str = "", message_pk: int | None = None) -> bool:
    """Add (or widen) a suppression; ``True`` when the address was not suppressed this widely before.

    A hard bounce widens a newsletter-only suppression to all mail; nothing narrows one.
    """
    address = normalize(email)
    with transaction.atomic():
        row = Suppression.objects.select_for_update().filter(email=address).first()
        if row is not None and (row.scope == Scope.ALL or scope == Scope.NEWSLETTER):
            return False
        if row is None:
            row = Suppression(email=address)
        row.reason, row.scope, row.detail, row.message_id = reason, scope, detail[:2000], message_pk
        row.save()
        feed.record(
            "customer.suppressed", {"email": address, "reason": reason, "scope": scope, "message": message_pk}
        )
    return True


def remove(email: str) -> bool:
    return Suppression.objects.filter(email=normalize(email)).delete()[0] > 0


def suppressed_for_all(emails: Iterable[str]) -> set[str]:
    """Which of ``emails`` get no mail at all (a hard bounce or a manual suppression)."""
    wanted = sorted({normalize(email) for email in emails})
    return {row[0] for row in db.values_in(Suppression, ["email"], "email", wanted, scope=str(Scope.ALL))}


def suppressed_queryset() -> Any:
    """All suppressed addresses (any scope) as a values list, for a newsletter's ``exclude``."""
    return Suppression.objects.values("email")


def as_dict(row: Suppression) -> dict[str, Any]:
    return {
        "email": row.email,
        "reason": row.reason,
        "scope": row.scope,
        "detail": row.detail,
        "message": row.message_id,
        "created_at": row.created_at.isoformat(),
    }


__all__ = ["Reason", "Scope", "as_dict", "normalize", "remove", "suppress", "suppressed_for_all"]
