"""The update digest (SPEC 4, ``update_digest_minutes``): order-update changes of one order that
come within the window join one ``order_updated`` e-mail instead of one e-mail each.

With a window above 0, a new ``order_updated`` e-mail to a customer is queued due at the end of
the window from its first change; the changes found while it waits are merged into it (a value
that changed twice reads from the first "before" to the last "after") and it is composed again.
Milestones never wait: a milestone e-mail of the same order queued meanwhile carries the waiting
changes, and the digest is cancelled. The clock is the database's ``due_at``: the worker sends
the digest when it is due, like any other message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from shopmail.domain.changes import MILESTONES
from shopmail.mail.models import Message, Payload, Priority, Status

if TYPE_CHECKING:
    from shopmail.mail.outbox import Draft
    from shopmail.store.models import StoreSettings

DIGEST = "order_updated"
MARGIN = dt.timedelta(seconds=5)  # a digest this close to due is left to the worker
JOINED = "joined the {} e-mail"


def _key(change: dict[str, Any]) -> tuple[Any, ...]:
    return (change.get("rule"), change.get("line"), change.get("shipment"))


def merge(held: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes of both, in order; one change per rule and line/shipment, from the first
    ``before`` to the last ``after``."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for change in [*held, *new]:
        key = _key(change)
        if key in out:
            out[key] = {**change, "before": out[key].get("before")}
        else:
            out[key] = dict(change)
    return [
        change
        for change in out.values()
        if change.get("before") != change.get("after")
        or change.get("rule") not in ("status_changed", "expected_delivery_date_changed")
    ]


def _waiting(draft: Draft, now: dt.datetime) -> Message | None:
    query = Message.objects.filter(
        order=draft.order,
        notification=DIGEST,
        to_email=draft.to_email,
        status=Status.QUEUED,
        attempts=0,
        due_at__gt=now + MARGIN,
    ).select_related("payload")
    if connection.features.has_select_for_update:
        query = query.select_for_update(of=("self",))  # the payload is an outer join: lock the message
    return query.order_by("due_at").first()


def _uncompose(payload: Payload) -> None:
    """The waiting e-mail's context changed: the worker composes it anew (ADR 0012)."""
    payload.subject = payload.text = payload.html = ""
    payload.raw = None
    payload.save()


def queue(
    drafts: Sequence[Draft],
    settings: StoreSettings,
    insert: Callable[[Sequence[Draft], StoreSettings], list[Message]],
) -> list[Message]:
    """``outbox.queue`` with the digest: one message per draft, in order (a draft that joined a
    waiting digest answers with that digest)."""
    now = timezone.now()
    window = dt.timedelta(minutes=settings.update_digest_minutes)
    found: list[Message | None] = [None] * len(drafts)
    fresh: list[int] = []
    for index, draft in enumerate(drafts):
        customer_mail = (
            draft.order is not None
            and draft.priority == Priority.ORDER
            and draft.to_email != settings.admin_email
        )
        waiting = _waiting(draft, now) if customer_mail else None
        if customer_mail and draft.notification == DIGEST:
            if waiting is not None:
                payload = waiting.payload
                payload.context = {
                    **payload.context,
                    "order": draft.context.get("order", payload.context.get("order")),
                    "changes": merge(
                        payload.context.get("changes") or (), draft.context.get("changes") or ()
                    ),
                }
                _uncompose(payload)
                found[index] = waiting
                continue
            draft.extra["due_at"] = now + window
        elif customer_mail and draft.notification in MILESTONES and waiting is not None:
            held = waiting.payload.context.get("changes") or ()
            draft.context["changes"] = merge(held, draft.context.get("changes") or ())
            Message.objects.filter(pk=waiting.pk, status=Status.QUEUED).update(
                status=Status.CANCELLED, last_error=JOINED.format(draft.notification), claimed_by=""
            )
        fresh.append(index)
    inserted = insert([drafts[index] for index in fresh], settings) if fresh else []
    for index, message in zip(fresh, inserted, strict=True):
        found[index] = message
    return [message for message in found if message is not None]
