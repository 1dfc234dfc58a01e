"""Invitations and password-reset e-mails: a one-time link, never a password."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from shopmail.account import tokens
from shopmail.account.customers import customer_dict
from shopmail.account.models import AccountToken, CustomerAccount
from shopmail.mail import outbox
from shopmail.mail.models import Message
from shopmail.store.models import Customer, StoreSettings


def account_for(customer: Customer) -> CustomerAccount:
    account, _ = CustomerAccount.objects.get_or_create(customer=customer)
    return account


def queue_customer_mail(
    notification: str,
    customer: Customer,
    key: str,
    extras: dict[str, Any],
    *,
    order_id: str | None = None,
    order: Any = None,
    settings: StoreSettings | None = None,
) -> Message | None:
    """Queue one customer e-mail (in the caller's transaction) unless switched off or unaddressable."""
    settings = settings or StoreSettings.load()
    if not customer.email or not settings.switches().notification_on(notification):
        return None
    if Message.objects.filter(key=key).exists():
        return None
    person = customer_dict(customer)
    draft = outbox.Draft(
        key=key,
        notification=notification,
        to_email=customer.email,
        language=outbox.language_for(person, settings),
        context={
            "customer": person,
            "order": order.snapshot if order is not None else None,
            "order_id": order_id,
            "changes": [],
            "custom_message": "",
            "extras": extras,
        },
        order=order,
    )
    return outbox.queue([draft], settings)[0]


def invite(customer: Customer, key: str | None = None) -> Message | None:
    """Send ``account_invite``: a link (valid 7 days) to choose a My page password.

    A customer who already has a password gets a password reset instead (valid 24 hours): an
    invitation must not be a way to set someone's password without knowing the old one.
    """
    with transaction.atomic():
        account = account_for(customer)
        if account.has_password:
            return reset(customer, key=key)  # the same key: a replayed event does not void the link
        row, plain = tokens.issue(account, AccountToken.Purpose.INVITE)
        account.invited_at = timezone.now()
        account.save(update_fields=["invited_at"])
        return queue_customer_mail(
            "account_invite",
            customer,
            key or f"account_invite:token:{row.pk}",
            {"invite_url": f"{django_settings.BASE_URL}/account/invite/{plain}/"},
        )


def customer_for_address(email: str) -> Customer | None:
    """The customer a reset request for ``email`` is about: one who already has a password
    first, else the most recently updated one."""
    email = email.strip()
    if not email:
        return None
    with_password = (
        Customer.objects.filter(email__iexact=email, account__isnull=False)
        .exclude(account__password="")
        .order_by("-account__last_login", "-updated_at")
        .first()
    )
    return with_password or Customer.objects.filter(email__iexact=email).order_by("-updated_at").first()


def reset(customer: Customer, key: str | None = None) -> Message | None:
    """Send ``password_reset``: a one-time link, valid 24 hours."""
    with transaction.atomic():
        account = account_for(customer)
        row, plain = tokens.issue(account, AccountToken.Purpose.RESET)
        return queue_customer_mail(
            "password_reset",
            customer,
            key or f"password_reset:token:{row.pk}",
            {"reset_url": f"{django_settings.BASE_URL}/account/reset/{plain}/"},
        )
