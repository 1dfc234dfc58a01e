"""The message log (SPEC section 2): list, one message, resend, and notify on demand."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from shopmail.api.base import json_body, json_response, object_body
from shopmail.core.errors import Rejected
from shopmail.mail import actions, shown
from shopmail.mail.models import Message, Status
from shopmail.store.models import Order

router = Router(tags=["messages"])


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def message_summary(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "notification": m.notification,
        "to": m.to_email,
        "status": m.status,
        "order": m.order.external_id if m.order_id and m.order else None,
        "attempts": m.attempts,
        "created_at": _iso(m.created_at),
        "sent_at": _iso(m.sent_at),
        "due_at": _iso(m.due_at),
        "last_error": m.last_error or None,
        "message_id": m.message_id,
        "resend_of": m.resend_of_id,
    }


def message_detail(m: Message) -> dict[str, Any]:
    payload = m.payload
    # what was sent; before the worker composes it, what would be sent now (``composed`` false)
    content = shown.content(m, payload)
    attempts = [
        {"at": _iso(a.at), "outcome": a.outcome, "code": a.code, "reply": a.reply, "worker": a.worker}
        for a in m.attempt_log.all()
    ]
    return {
        **message_summary(m),
        # one-time links (reset, invitation) are shown without their token; the stored bytes the
        # worker sends keep it (issue 19: an API key alone gave a working reset link)
        "composed": content["composed"],
        "subject": content.get("subject", ""),
        "text": content.get("text", ""),
        "html": content.get("html", ""),
        "headers": [list(pair) for pair in content["headers"]],
        "template_version": content.get("version") or None,
        "language": payload.language,
        "attempt_log": attempts,
        "smtp_reply": attempts[-1]["reply"] if attempts else None,
        "custom_message": payload.context.get("custom_message") or None,
    }


class MessageFilters(Schema):
    order: str | None = None
    to: str | None = None
    notification: str | None = None
    status: Status | None = None
    limit: int = 50
    offset: int = 0


@router.get("/messages", summary="The message log, newest first")
def list_messages(request: HttpRequest, filters: Query[MessageFilters]) -> HttpResponse:
    if not 1 <= filters.limit <= 500 or not 0 <= filters.offset <= 10**9:  # SQLite's integers end at 2**63
        raise Rejected([{"loc": ["query", "limit"], "msg": "limit must be 1-500 and offset 0 to 10^9"}])
    query = Message.objects.select_related("order").order_by("-created_at", "-id")
    if filters.order:
        query = query.filter(order__external_id=filters.order)
    if filters.to:
        query = query.filter(to_email__iexact=filters.to.strip())
    if filters.notification:
        query = query.filter(notification=filters.notification)
    if filters.status:
        query = query.filter(status=filters.status)
    total = query.count()
    items = [message_summary(m) for m in query[filters.offset : filters.offset + filters.limit]]
    return json_response({"count": total, "limit": filters.limit, "offset": filters.offset, "items": items})


def _get(message_id: int) -> Message | None:
    return Message.objects.select_related("order", "payload").filter(pk=message_id).first()


@router.get("/messages/{message_id}", summary="One message: status, attempts, rendered content, headers")
def get_message(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _get(message_id)
    if message is None:
        return json_response({"detail": "message not found"}, status=404)
    return json_response(message_detail(message))


_CUSTOM_MESSAGE = {"custom_message": {"type": "string", "maxLength": 5000}}


@router.post(
    "/messages/{message_id}/resend",
    summary="Queue a copy, re-rendered with a custom message",
    openapi_extra=object_body(_CUSTOM_MESSAGE, optional=True),
)
def resend(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _get(message_id)
    if message is None:
        return json_response({"detail": "message not found"}, status=404)
    body = json_body(request) if request.body else {}
    try:
        copy = actions.resend(message, body.get("custom_message"))
    except actions.ActionError as exc:
        raise Rejected([{"loc": exc.loc, "msg": exc.msg}]) from None
    return json_response(message_summary(copy), status=201)


@router.post(
    "/orders/{order_id}/notify",
    summary="Send any order notification now",
    openapi_extra=object_body(
        {"notification": {"type": "string", "enum": list(actions.ORDER_NOTIFICATIONS)}, **_CUSTOM_MESSAGE},
        required=["notification"],
    ),
)
def notify(request: HttpRequest, order_id: str) -> HttpResponse:
    order = Order.objects.filter(external_id=order_id).first()
    if order is None:
        return json_response({"detail": "order not found"}, status=404)
    body = json_body(request)
    try:
        message = actions.notify(order, body.get("notification"), body.get("custom_message"))
    except actions.ActionError as exc:
        raise Rejected([{"loc": exc.loc, "msg": exc.msg}]) from None
    return json_response(message_summary(message), status=201)
