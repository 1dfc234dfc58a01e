"""Signed links in e-mails: they work without a login and cannot be altered or reused elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

ORDER_SALT = "shopmail.order-link"
BACKORDER_SALT = "shopmail.backorder-choice"
BACKORDER_CHOICES = ("one_shipment", "ship_available")


def order_token(order_id: str) -> str:
    return signing.dumps(order_id, salt=ORDER_SALT, compress=False)


def order_from_token(token: str, max_age_days: int = 365) -> str | None:
    try:
        value = signing.loads(token, salt=ORDER_SALT, max_age=max_age_days * 86400)
    except signing.BadSignature:
        return None
    return value if isinstance(value, str) else None


def order_url(order_id: str) -> str:
    return f"{settings.BASE_URL}/account/order/{order_token(order_id)}/"


def backorder_token(order_id: str, choice: str) -> str:
    return signing.dumps([order_id, choice], salt=BACKORDER_SALT, compress=False)


def backorder_from_token(token: str) -> tuple[str, str] | None:
    try:
        value = signing.loads(token, salt=BACKORDER_SALT, max_age=90 * 86400)
    except signing.BadSignature:
        return None
    if isinstance(value, list) and len(value) == 2 and value[1] in BACKORDER_CHOICES:
        return str(value[0]), str(value[1])
    return None


def backorder_urls(order_id: str) -> dict[str, str]:
    return {
        choice: f"{settings.BASE_URL}/account/backorder/{backorder_token(order_id, choice)}/"
        for choice in BACKORDER_CHOICES
    }
