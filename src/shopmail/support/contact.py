"""Contact messages, from the public form at /contact/ or the shop's ``contact.submitted`` event."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shopmail.account.customers import customer_dict
from shopmail.mail.models import Message
from shopmail.store.models import Customer, Order
from shopmail.support.models import ContactMessage
from shopmail.support.notify import queue_staff_mail


def submit(
    *,
    name: str,
    email: str,
    subject: str,
    body: str,
    order_ref: str = "",
    order: Order | None = None,
    customer: Customer | None = None,
    source: str = "form",
    event_id: str | None = None,
) -> tuple[ContactMessage, list[Message]]:
    """Store the message and send ``admin_contact_message`` with Reply-To the sender."""
    with transaction.atomic():
        if event_id:
            replay = ContactMessage.objects.filter(event_id=event_id).first()
            if replay is not None:
                return replay, []
        contact = ContactMessage.objects.create(
            name=name.strip(),
            email=email.strip(),
            subject=subject.strip(),
            body=body.strip(),
            order_ref=(order.number or order.external_id) if order is not None else order_ref.strip(),
            order=order,
            customer=customer,
            source=source,
            event_id=event_id or None,
            created_at=timezone.now(),
        )
        message = queue_staff_mail(
            "admin_contact_message",
            f"admin_contact_message:contact:{contact.pk}",
            customer=customer_dict(customer)
            if customer is not None
            else {
                "email": contact.email,
                "first_name": contact.name,
            },
            extras={
                "message": {
                    "name": contact.name,
                    "email": contact.email,
                    "subject": contact.subject,
                    "body": contact.body,
                    "order_number": contact.order_ref,
                    "date": contact.created_at.isoformat(),
                }
            },
            reply_to=contact.email,
        )
    return contact, [message] if message else []
