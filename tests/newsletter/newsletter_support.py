"""Shared by the newsletter tests (a module name of its own: test modules are not packages)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

UTC = dt.UTC


def customer(n: int, **fields: Any):
    from shopmail.store.models import Customer

    values = {
        "external_id": f"c{n}",
        "email": f"c{n}@example.com",
        "first_name": f"First{n}",
        "last_name": "Tester",
        "language": "en",
        "country": "NO",
        "newsletter_opt_in": True,
        "newsletter_opt_in_at": dt.datetime(2025, 1, 1, tzinfo=UTC),
        "registered_at": dt.datetime(2025, 1, 1, tzinfo=UTC),
    }
    values.update(fields)
    return Customer.objects.create(**values)


def order_for(customer, n: str, *, skus=("MUG-01",), total="10.00", created=None, status="processing"):
    from shopmail.store.models import Order

    created = created or dt.datetime(2025, 6, 1, tzinfo=UTC)
    snapshot = {
        "id": n,
        "status": status,
        "totals": {"total": total},
        "lines": [{"id": str(i), "sku": sku, "name": sku, "quantity": 1} for i, sku in enumerate(skus)],
    }
    return Order.objects.create(
        external_id=n,
        number=n,
        customer=customer,
        status=status,
        created_at=created,
        updated_at=created,
        snapshot=snapshot,
        snapshot_hash=n,
    )


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def quick(data: bytes) -> tuple[dict[str, str], str, str]:
    """Headers, text and HTML of a received message (the legacy parser: ten times faster)."""
    message = email.message_from_bytes(data)
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        elif part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return dict(message.items()), text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def unsubscribe_path(message: EmailMessage) -> str:
    """The path of the List-Unsubscribe link, checked against the one in the text part."""
    header = str(message["List-Unsubscribe"])
    match = re.fullmatch(r"<(https?://[^>]+)>", header.strip())
    assert match, header
    url = match.group(1)
    assert url in message.get_body(("plain",)).get_content()
    assert url.replace("&", "&amp;") in message.get_body(("html",)).get_content()
    return "/" + url.split("/", 3)[3]


def money(value: str) -> Decimal:
    return Decimal(value)
