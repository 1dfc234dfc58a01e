"""Queueing the customer-service e-mails (staff side) and links into the control panel."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

from shopmail.mail import outbox
from shopmail.mail.models import Message
from shopmail.store.models import Order, StoreSettings


def admin_url(path: str) -> str:
    return f"{django_settings.BASE_URL}/admin/{path.lstrip('/')}"


def account_url(path: str) -> str:
    return f"{django_settings.BASE_URL}/account/{path.lstrip('/')}"


def queue_staff_mail(
    notification: str,
    key: str,
    *,
    customer: dict[str, Any] | None,
    extras: dict[str, Any],
    reply_to: str = "",
    order: Order | None = None,
    event: dict[str, Any] | None = None,
    settings: StoreSettings | None = None,
) -> Message | None:
    """Queue a staff e-mail to the store's admin address (in the caller's transaction).

    Nothing when no admin address is set, the notification is switched off, or ``key`` was
    queued before (a replayed event)."""
    settings = settings or StoreSettings.load()
    if not settings.admin_email or not settings.switches().notification_on(notification):
        return None
    if Message.objects.filter(key=key).exists():
        return None
    context: dict[str, Any] = {
        "customer": customer,
        "order": order.snapshot if order is not None else None,
        "order_id": order.external_id if order is not None else None,
        "changes": [],
        "custom_message": "",
        "extras": extras,
    }
    if event is not None:
        context["event"] = event
    draft = outbox.Draft(
        key=key,
        notification=notification,
        to_email=settings.admin_email,
        language=settings.default_language,
        context=context,
        order=order,
        reply_to=reply_to,
    )
    return outbox.queue([draft], settings)[0]
