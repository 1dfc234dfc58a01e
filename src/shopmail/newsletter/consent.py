"""Opt-in and opt-out: signed unsubscribe links, and the record of who subscribed when and how."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from shopmail.mail.models import Message, Status
from shopmail.newsletter.models import Consent, ConsentSource, Newsletter, Recipient
from shopmail.store import feed
from shopmail.store.models import Customer

SALT = "shopmail.newsletter.unsubscribe"
TEST_CUSTOMER = 0  # the "customer" of a test send's link: it unsubscribes nobody
ONE_CLICK_HEADER = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")  # RFC 8058


@dataclass(frozen=True)
class LinkTarget:
    customer_id: int
    newsletter_id: int

    @property
    def is_test(self) -> bool:
        return self.customer_id == TEST_CUSTOMER


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def token(customer_id: int, newsletter_id: int) -> str:
    """A personal unsubscribe token; it never expires and only this customer's link has it."""
    return _signer().sign(f"{customer_id}.{newsletter_id}")


def parse(value: str) -> LinkTarget | None:
    """The customer and newsletter of a token, or None for a forged or altered one."""
    if len(value) > 200:
        return None
    try:
        plain = _signer().unsign(value)
    except signing.BadSignature:
        return None
    customer, _, newsletter = plain.partition(".")
    if not (customer.isdigit() and newsletter.isdigit()):
        return None
    return LinkTarget(int(customer), int(newsletter))


def url(customer_id: int, newsletter_id: int) -> str:
    return f"{django_settings.BASE_URL}/unsubscribe/{token(customer_id, newsletter_id)}"


def headers(unsubscribe_url: str) -> list[list[str]]:
    """``List-Unsubscribe`` (the HTTPS link) and the RFC 8058 one-click marker."""
    return [["List-Unsubscribe", f"<{unsubscribe_url}>"], list(ONE_CLICK_HEADER)]


def cancel_waiting(customer_ids: Iterable[int], reason: str = "the customer unsubscribed") -> int:
    """Cancel the newsletter messages still waiting in the outbox for these customers."""
    ids = list(customer_ids)
    if not ids:
        return 0
    return Message.objects.filter(
        newsletter_recipient__customer_id__in=ids, status__in=(Status.QUEUED, Status.DEFERRED)
    ).update(status=Status.CANCELLED, last_error=reason, claimed_by="")


def unsubscribe(
    customer: Customer, *, source: str, newsletter_id: int | None = None, detail: str = ""
) -> bool:
    """Opt the customer out: recorded with its time, fed back to the shop, and any newsletter
    still waiting in the outbox for them cancelled. Returns False if they were already out."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        now = timezone.now()
        cancelled = cancel_waiting([customer.pk])
        if not customer.newsletter_opt_in:
            return False
        customer.newsletter_opt_in = False
        customer.save(update_fields=["newsletter_opt_in", "updated_at"])
        newsletter = Newsletter.objects.filter(pk=newsletter_id).first() if newsletter_id else None
        Consent.objects.create(
            customer=customer, subscribed=False, at=now, source=source, newsletter=newsletter, detail=detail
        )
        feed.record(
            "newsletter.unsubscribed",
            {
                "customer": customer.external_id,
                "email": customer.email,
                "at": now.isoformat(),
                "source": source,
                "newsletter": newsletter.pk if newsletter else None,
                "cancelled": cancelled,
            },
        )
    return True


def on_complaint(sender: object, email: str, message: Message | None = None, **kwargs: object) -> None:
    """A spam complaint (deliverability's ``complaint_received``) opts the address out of newsletters."""
    newsletter_id = (
        Recipient.objects.filter(message=message).values_list("newsletter_id", flat=True).first()
        if message is not None
        else None
    )
    for customer in Customer.objects.filter(email__iexact=email):
        unsubscribe(
            customer, source=ConsentSource.COMPLAINT, newsletter_id=newsletter_id, detail="spam complaint"
        )


def subscribe(customer: Customer, *, source: str = ConsentSource.ACCOUNT, detail: str = "") -> bool:
    """Opt the customer in (My page, the panel); returns False if they already were."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.newsletter_opt_in:
            return False
        now = timezone.now()
        customer.newsletter_opt_in, customer.newsletter_opt_in_at = True, now
        customer.save(update_fields=["newsletter_opt_in", "newsletter_opt_in_at", "updated_at"])
        Consent.objects.create(customer=customer, subscribed=True, at=now, source=source, detail=detail)
    return True


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime | None  # None: an opt-in from the shop without a time
    subscribed: bool
    source: str
    detail: str


def history(customer: Customer) -> list[HistoryEntry]:
    """When and how the customer opted in or out, newest first (the shop's opt-in included)."""
    entries = [
        HistoryEntry(
            c.at,
            c.subscribed,
            c.get_source_display(),
            c.detail or (f"newsletter “{c.newsletter.subject}”" if c.newsletter else ""),
        )
        for c in customer.newsletter_consents.select_related("newsletter")
    ]
    if customer.newsletter_opt_in_at is not None or customer.newsletter_opt_in:
        entries.append(
            HistoryEntry(
                customer.newsletter_opt_in_at, True, ConsentSource.SHOP.label, "newsletter_opt_in_at"
            )
        )
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: e.at or oldest, reverse=True)
