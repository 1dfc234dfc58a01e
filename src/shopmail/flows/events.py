"""Events from the shop (SPEC section 5): validated, then handed to the flow they start.

``rma.requested``, ``helpdesk.message`` and ``contact.submitted`` go through the same code as
My page and the contact form (a stored return request, thread post or contact message, and
the staff e-mail); ``customer.invite`` sends ``account_invite``; ``customer.registered`` and
``affiliate.signed_up`` send their staff e-mail. An event with the shop's own ``id`` is acted
on once: replaying it changes nothing and sends nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopmail.core.errors import Rejected, pydantic_errors
from shopmail.domain.snapshot import CustomerIn, Email, Ident, Line
from shopmail.flows.ingest import upsert_customers
from shopmail.mail import outbox
from shopmail.mail.models import Message, Priority
from shopmail.store.models import Customer, Order, StoreSettings

Body = Annotated[str, Field(min_length=1, max_length=20_000)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Ident | None = None  # the shop's own event id: the same id is never acted on twice


class CustomerRegistered(_Event):
    customer: CustomerIn


class ContactSubmitted(_Event):
    name: Line
    email: Email
    subject: Line = ""
    message: Body
    order: Ident | None = None


class AffiliateSignedUp(_Event):
    name: Line
    email: Email
    website: Annotated[str, Field(max_length=500)] | None = None


class HelpdeskMessage(_Event):
    customer: CustomerIn | Ident
    order: Ident | None = None
    subject: Line = ""
    message: Body


class RmaLine(BaseModel):
    line_id: Ident
    quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1


class RmaRequested(_Event):
    order: Ident
    lines: list[RmaLine] = Field(min_length=1, max_length=1000)
    reason: Body


class CustomerInvite(_Event):
    customer: CustomerIn | Ident


EVENTS: dict[str, tuple[type[_Event], str]] = {
    "customer.registered": (CustomerRegistered, "admin_customer_registered"),
    "contact.submitted": (ContactSubmitted, "admin_contact_message"),
    "affiliate.signed_up": (AffiliateSignedUp, "admin_affiliate_signup"),
    "helpdesk.message": (HelpdeskMessage, "admin_helpdesk_message"),
    "rma.requested": (RmaRequested, "admin_rma_requested"),
    "customer.invite": (CustomerInvite, "account_invite"),
}

_DATA = ["body", "data"]


def _order(order_id: str | None) -> Order | None:
    if not order_id:
        return None
    order = Order.objects.select_related("customer").filter(external_id=order_id).first()
    if order is None:
        raise Rejected([{"loc": [*_DATA, "order"], "msg": "no such order"}])
    return order


def _customer(value: Any) -> Customer:
    """Upsert a customer given in full, or find one given by id."""
    if isinstance(value, dict):
        return upsert_customers([value])[value["id"]]
    stored = Customer.objects.filter(external_id=value).first()
    if stored is None:
        raise Rejected([{"loc": [*_DATA, "customer"], "msg": "no such customer"}])
    return stored


def handle(event_type: Any, data: Any) -> dict[str, Any]:
    """Validate and act on one event; returns ``{"type", "messages": [...], ...}``."""
    if not isinstance(event_type, str) or event_type not in EVENTS:
        raise Rejected([{"loc": ["body", "type"], "msg": f"must be one of {', '.join(sorted(EVENTS))}"}])
    model, notification = EVENTS[event_type]
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        raise Rejected(pydantic_errors(exc, _DATA)) from None
    payload = event.model_dump(mode="json")
    with transaction.atomic():
        result: dict[str, Any] = {"type": event_type}
        if isinstance(event, RmaRequested):
            messages = _rma(payload, result)
        elif isinstance(event, HelpdeskMessage):
            messages = _helpdesk(payload, result)
        elif isinstance(event, ContactSubmitted):
            messages = _contact(payload, result)
        elif isinstance(event, CustomerInvite):
            messages = _invite(payload, result)
        else:
            messages = _staff_mail(event_type, notification, payload)
    result["messages"] = [outbox.summary(m) for m in messages]
    return result


def _rma(payload: dict[str, Any], result: dict[str, Any]) -> list[Message]:
    from shopmail.support import returns

    order = _order(payload["order"])
    assert order is not None
    try:
        rma, messages = returns.request(
            order, payload["lines"], payload["reason"], source="api", event_id=payload.get("id")
        )
    except returns.ReturnRefused as exc:
        raise Rejected([{**error, "loc": [*_DATA, *error["loc"]]} for error in exc.errors]) from None
    result["rma"] = {"id": rma.pk, "number": rma.number, "status": rma.status}
    return messages


def _helpdesk(payload: dict[str, Any], result: dict[str, Any]) -> list[Message]:
    from shopmail.support import helpdesk

    order = _order(payload.get("order"))
    customer = _customer(payload["customer"])
    if order is not None and order.customer_id != customer.pk:
        raise Rejected([{"loc": [*_DATA, "order"], "msg": "this order belongs to another customer"}])
    subject = payload.get("subject") or ""
    thread, _, messages = helpdesk.customer_post(
        customer,
        payload["message"],
        thread=helpdesk.find_open_thread(customer, subject, order),
        subject=subject or (f"Order {order.number or order.external_id}" if order else ""),
        order=order,
        source="api",
        event_id=payload.get("id"),
    )
    result["thread"] = {"id": thread.pk, "subject": thread.subject}
    return messages


def _contact(payload: dict[str, Any], result: dict[str, Any]) -> list[Message]:
    from shopmail.support import contact

    order = _order(payload.get("order"))
    stored, messages = contact.submit(
        name=payload["name"],
        email=payload["email"],
        subject=payload.get("subject") or "",
        body=payload["message"],
        order=order,
        customer=order.customer if order is not None and order.customer.email == payload["email"] else None,
        source="api",
        event_id=payload.get("id"),
    )
    result["contact"] = {"id": stored.pk}
    return messages


def _invite(payload: dict[str, Any], result: dict[str, Any]) -> list[Message]:
    from shopmail.account import mailing

    customer = _customer(payload["customer"])
    event_id = payload.get("id")
    if event_id and Message.objects.filter(key=f"account_invite:event:{event_id}").exists():
        return []
    message = mailing.invite(customer, key=f"account_invite:event:{event_id}" if event_id else None)
    result["customer"] = customer.external_id
    return [message] if message else []


def _staff_mail(event_type: str, notification: str, payload: dict[str, Any]) -> list[Message]:
    """customer.registered and affiliate.signed_up: the staff e-mail, once per event id."""
    settings = StoreSettings.load()
    customer = payload.get("customer")
    if isinstance(customer, dict):
        upsert_customers([customer])
    event_id = payload.get("id") or uuid.uuid4().hex
    key = f"{notification}:{event_type}:{event_id}"
    if (
        not settings.admin_email
        or not settings.switches().notification_on(notification)
        or Message.objects.filter(key=key).exists()
    ):
        return []
    draft = outbox.Draft(
        key=key,
        notification=notification,
        to_email=settings.admin_email,
        language=settings.default_language,
        context={
            "event": payload,
            "customer": customer if isinstance(customer, dict) else None,
            "order": None,
            "order_id": None,
            "changes": [],
            "custom_message": "",
        },
        priority=Priority.ORDER,
        reply_to=payload.get("email") or (customer or {}).get("email") or "",
    )
    return outbox.queue([draft], settings)
