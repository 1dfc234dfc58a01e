"""Putting messages into the outbox: narrow ``Message`` rows plus their ``Payload``.

Called inside the ingest transaction, so a message exists exactly when the change that caused
it was stored (the transactional outbox). Nothing here talks to SMTP.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopmail.db import build, fast_create
from shopmail.mail import wakeup
from shopmail.mail.deliverability import suppression
from shopmail.mail.models import Message, Payload, Priority, Status
from shopmail.store.models import Order, StoreSettings

SUPPRESSED = "suppressed"  # the reason a message to a suppressed address is held


# Mail that follows a milestone of the same ingest and must not reach the customer before it
# (the back-order choice refers to the confirmation): due this much later, so no worker batch
# sends both at once.
FOLLOW_UPS = {"order_backorder_choice": dt.timedelta(seconds=60)}


@dataclass
class Draft:
    """A message about to be queued."""

    key: str
    notification: str
    to_email: str
    language: str
    context: dict[str, Any]
    order: Order | None = None
    priority: int = Priority.ORDER
    reply_to: str = ""
    resend_of: Message | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def message_id_domain(from_email: str) -> str:
    """The right-hand side of our Message-IDs: the From domain in ASCII."""
    domain = from_email.rpartition("@")[2] or "shopmail.invalid"
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "shopmail.invalid"


def new_message_id(from_email: str) -> str:
    """A globally unique Message-ID, fixed for the life of the message (retries reuse it)."""
    return f"<{uuid.uuid4().hex}@{message_id_domain(from_email)}>"


def language_for(customer: Mapping[str, Any] | None, settings: StoreSettings) -> str:
    language = ((customer or {}).get("language") or "").split("-")[0].split("_")[0].lower()
    return language or settings.default_language


def queue(drafts: Sequence[Draft], settings: StoreSettings, *, compose: bool = True) -> list[Message]:
    """Insert the drafts (in the caller's transaction); returns one message per draft, in order.
    With an update digest (SPEC 4), order updates join a waiting one (``mail/digest.py``).

    ``compose=False`` leaves order mail for the worker to compose: ingest runs do (ADR 0012: an
    order PUT does not render two e-mails while it holds the database's write lock)."""
    insert = functools.partial(_insert, compose=compose)
    if drafts and settings.update_digest_minutes:
        from shopmail.mail import digest  # digest calls back into this module

        return digest.queue(drafts, settings, insert)
    return insert(drafts, settings)


def _insert(drafts: Sequence[Draft], settings: StoreSettings, *, compose: bool = True) -> list[Message]:
    if not drafts:
        return []
    # Order and staff mail to a hard-bounced address is held, releasable by staff (SPEC section 9).
    suppressed = suppression.suppressed_for_all(d.to_email for d in drafts if d.priority == Priority.ORDER)
    messages = [
        build(
            Message,
            key=draft.key,
            notification=draft.notification,
            to_email=draft.to_email,
            priority=draft.priority,
            order=draft.order,
            resend_of=draft.resend_of,
            message_id=new_message_id(settings.from_email),
            **(
                {"status": Status.HELD, "last_error": SUPPRESSED}
                if suppressed and suppression.normalize(draft.to_email) in suppressed
                else {}
            ),
        )
        for draft in drafts
    ]
    for message, draft in zip(messages, drafts, strict=True):
        if draft.notification in FOLLOW_UPS:  # never ahead of the milestone it follows
            message.due_at = message.due_at + FOLLOW_UPS[draft.notification]
        if draft.extra.get("due_at"):  # an update digest waits (mail/digest.py)
            message.due_at = draft.extra["due_at"]
    fast_create(messages)
    payloads = [
        build(
            Payload,
            message=message,
            language=draft.language,
            context=draft.context,
            reply_to=draft.reply_to,
        )
        for message, draft in zip(messages, drafts, strict=True)
    ]
    if compose:
        compose_now(messages, payloads, settings)
    fast_create(payloads)
    wakeup.queued()
    return messages


def compose_now(messages: Sequence[Message], payloads: Sequence[Payload], settings: StoreSettings) -> int:
    """Render and build the messages' bytes in the queueing transaction (DESIGN "The flow"):
    mail that staff or a customer caused by hand (a resend, account and support mail). Ingest
    runs leave their order mail to the worker instead (ADR 0012).

    The worker then only sends stored bytes. A message that cannot be composed is queued
    as it is: the worker tries again and holds it with the reason, so a broken template never
    fails an ingest. Bulk mail (newsletters) is composed at send time from the newsletter's
    shared parts instead. Returns how many were composed.
    """
    from shopmail.mail import compose  # the renderer imports the store; imported late

    sources: dict[Any, Any] = {}  # templates, their stamp and product instructions: once per batch
    compose.prefetch(
        [p for m, p in zip(messages, payloads, strict=True) if m.priority == Priority.ORDER], sources
    )
    composed = 0
    for message, payload in zip(messages, payloads, strict=True):
        if message.priority != Priority.ORDER:
            continue
        try:
            done = compose.compose(message, payload, settings, sources)
        except Exception:  # noqa: S112 - left for the worker, which holds it with the reason
            continue
        if done.keep:
            payload.subject, payload.text, payload.html = done.subject, done.text, done.html
            payload.raw, payload.template_version = done.raw, done.version
            composed += 1
    return composed


def summary(message: Message) -> dict[str, Any]:
    return {"id": message.pk, "notification": message.notification, "to": message.to_email}
