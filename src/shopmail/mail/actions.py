"""Staff actions on mail: resend a message, send any order notification on demand, retry, cancel."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from shopmail.mail import compose, outbox, wakeup
from shopmail.mail.models import Message, Payload, Priority, Status
from shopmail.mail.notifications import NOTIFICATIONS
from shopmail.store.models import Order, StoreSettings

ORDER_NOTIFICATIONS = tuple(
    key for key, n in NOTIFICATIONS.items() if n.about_order and n.audience == "customer"
)
CUSTOM_MESSAGE_MAX = 5000


class ActionError(ValueError):
    def __init__(self, loc: list[Any], msg: str):
        super().__init__(msg)
        self.loc, self.msg = loc, msg


def _custom(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > CUSTOM_MESSAGE_MAX or "\x00" in value:
        raise ActionError(
            ["body", "custom_message"], f"must be text of at most {CUSTOM_MESSAGE_MAX} characters"
        )
    return value.strip()


def resend(message: Message, custom_message: Any = None) -> Message:
    """A new message (new Message-ID) re-rendered from the original's context, linked to it."""
    text = _custom(custom_message)
    payload = Payload.objects.get(pk=message.pk)
    if payload.context == {"pruned": True}:  # mail/retention.py dropped what it was made from
        raise ActionError(
            ["path", "message_id"],
            "this message's body was removed after the retention period; send the notification anew instead",
        )
    with transaction.atomic():
        settings = StoreSettings.load()
        # a message queued without its personal parts (a newsletter) gets them now: the copy has
        # no recipient row of its own to read them from
        compose.complete([(message, payload)], settings)
        draft = outbox.Draft(
            key=f"resend:{message.pk}:{uuid.uuid4().hex}",
            notification=message.notification,
            to_email=message.to_email,
            language=payload.language,
            context={**payload.context, "custom_message": text},
            order=message.order,
            priority=message.priority,
            reply_to=payload.reply_to,
            resend_of=message,
        )
        [copy] = outbox.queue([draft], settings)
    return copy


def notify(order: Order, notification: Any, custom_message: Any = None) -> Message:
    """Send an order notification now, whatever was sent before (an explicit staff decision)."""
    if notification not in ORDER_NOTIFICATIONS:
        raise ActionError(["body", "notification"], f"must be one of {', '.join(ORDER_NOTIFICATIONS)}")
    text = _custom(custom_message)
    snapshot = order.snapshot
    shipments = snapshot.get("shipments") or []
    with transaction.atomic():
        settings = StoreSettings.load()
        draft = outbox.Draft(
            key=f"notify:{order.external_id}:{notification}:{uuid.uuid4().hex}",
            notification=str(notification),
            to_email=snapshot["customer"]["email"],
            language=outbox.language_for(snapshot["customer"], settings),
            context={
                "order_id": order.external_id,
                "order": snapshot,
                "changes": [],
                "shipment_id": shipments[-1]["id"] if shipments else None,
                "custom_message": text,
            },
            order=order,
            priority=Priority.ORDER,
        )
        [message] = outbox.queue([draft], settings)
    return message


def retry(message: Message) -> bool:
    """Put a failed, held or deferred message back in the queue now (same Message-ID)."""
    updated = Message.objects.filter(
        pk=message.pk, status__in=(Status.FAILED, Status.HELD, Status.DEFERRED, Status.CANCELLED)
    ).update(status=Status.QUEUED, due_at=timezone.now(), claimed_by="", claimed_until=None)
    if updated:
        # a held message is composed again (its template may have been fixed meanwhile)
        Payload.objects.filter(pk=message.pk, message__status=Status.QUEUED, raw__isnull=True).update(
            subject=""
        )
        wakeup.queued()
    return bool(updated)


def cancel(message: Message) -> bool:
    return bool(
        Message.objects.filter(
            pk=message.pk, status__in=(Status.QUEUED, Status.DEFERRED, Status.HELD)
        ).update(status=Status.CANCELLED, claimed_by="", claimed_until=None)
    )
