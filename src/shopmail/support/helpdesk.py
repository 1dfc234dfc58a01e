"""The help desk: threads between a customer and the store's staff.

A customer's post -> ``admin_helpdesk_message`` to staff (Reply-To the customer);
a staff reply -> ``helpdesk_reply`` to the customer, with a link to the thread on My page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from shopmail.account.customers import customer_dict
from shopmail.account.mailing import queue_customer_mail
from shopmail.mail.models import Message
from shopmail.store.models import Customer, Order, StoreSettings
from shopmail.support.models import Thread, ThreadMessage
from shopmail.support.notify import account_url, admin_url, queue_staff_mail

MAX_BODY = 20_000
MAX_SUBJECT = 200


def thread_dict(thread: Thread) -> dict[str, Any]:
    order = thread.order
    return {
        "id": thread.pk,
        "subject": thread.subject,
        "url": account_url(f"helpdesk/{thread.pk}/"),
        "order_number": (order.number or order.external_id) if order is not None else "",
    }


def message_dict(message: ThreadMessage) -> dict[str, Any]:
    return {
        "author": message.author_name,
        "body": message.body,
        "date": message.created_at.isoformat(),
        "order_number": "",
    }


def find_open_thread(customer: Customer, subject: str, order: Order | None) -> Thread | None:
    """The customer's open thread about the same order and subject (for API messages)."""
    threads = Thread.objects.filter(customer=customer, status=Thread.Status.OPEN, order=order)
    if subject:
        threads = threads.filter(subject__iexact=subject)
    return threads.order_by("-updated_at", "-id").first()


def customer_post(
    customer: Customer,
    body: str,
    *,
    thread: Thread | None = None,
    subject: str = "",
    order: Order | None = None,
    source: str = "my_page",
    event_id: str | None = None,
) -> tuple[Thread, ThreadMessage, list[Message]]:
    """A customer writes: in ``thread``, or in a new thread with ``subject`` (about ``order``)."""
    with transaction.atomic():
        if event_id:
            replay = ThreadMessage.objects.select_related("thread").filter(event_id=event_id).first()
            if replay is not None:
                return replay.thread, replay, []
        now = timezone.now()
        if thread is None:
            thread = Thread.objects.create(
                customer=customer,
                order=order,
                subject=(subject.strip() or "Question")[:MAX_SUBJECT],
                created_at=now,
                updated_at=now,
            )
        post = ThreadMessage.objects.create(
            thread=thread,
            author=ThreadMessage.Author.CUSTOMER,
            author_name=customer.full_name or customer.email,
            body=body.strip()[:MAX_BODY],
            source=source,
            event_id=event_id or None,
            created_at=now,
        )
        Thread.objects.filter(pk=thread.pk).update(
            updated_at=now, status=Thread.Status.OPEN, awaiting_staff=True
        )
        thread.refresh_from_db()
        message = queue_staff_mail(
            "admin_helpdesk_message",
            f"admin_helpdesk_message:post:{post.pk}",
            customer=customer_dict(customer),
            extras={
                "thread": thread_dict(thread),
                "message": message_dict(post),
                "admin_url": admin_url(f"helpdesk/{thread.pk}/"),
            },
            reply_to=customer.email,
        )
    return thread, post, [message] if message else []


def staff_reply(
    thread: Thread,
    body: str,
    *,
    user: AbstractBaseUser | AnonymousUser | None = None,
    settings: StoreSettings | None = None,
) -> tuple[ThreadMessage, Message | None]:
    """Staff answer; the customer gets ``helpdesk_reply``."""
    settings = settings or StoreSettings.load()
    first_name = str(getattr(user, "first_name", "") or "").strip()
    with transaction.atomic():
        now = timezone.now()
        post = ThreadMessage.objects.create(
            thread=thread,
            author=ThreadMessage.Author.STAFF,
            author_name=first_name or settings.company_name,
            staff_user=user if user is not None and user.is_authenticated else None,  # type: ignore[misc]
            body=body.strip()[:MAX_BODY],
            source="panel",
            created_at=now,
        )
        Thread.objects.filter(pk=thread.pk).update(updated_at=now, awaiting_staff=False)
        thread.refresh_from_db()
        message = queue_customer_mail(
            "helpdesk_reply",
            thread.customer,
            f"helpdesk_reply:post:{post.pk}",
            {"thread": thread_dict(thread), "message": message_dict(post)},
            settings=settings,
        )
    return post, message


def set_status(thread: Thread, status: str) -> None:
    Thread.objects.filter(pk=thread.pk).update(status=status)
    thread.status = status
