"""Events from the shop (SPEC section 5) and the staff e-mails they call for."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopmail.domain.snapshot import CustomerIn, Email, Ident, Line, Text
from shopmail.mail import outbox
from shopmail.mail.models import Message, Priority
from shopmail.store.ingest import Rejected, pydantic_errors, upsert_customers
from shopmail.store.models import Customer, Order, StoreSettings


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Ident | None = None  # the shop's own event id: the same id is never mailed twice


class CustomerRegistered(_Event):
    customer: CustomerIn


class ContactSubmitted(_Event):
    name: Line
    email: Email
    subject: Line = ""
    message: Annotated[str, Field(min_length=1, max_length=20_000)]
    order: Ident | None = None


class AffiliateSignedUp(_Event):
    name: Line
    email: Email
    website: Annotated[str, Field(max_length=500)] | None = None


class HelpdeskMessage(_Event):
    customer: CustomerIn | Ident
    order: Ident | None = None
    subject: Line = ""
    message: Text


class RmaLine(BaseModel):
    line_id: Ident
    quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1


class RmaRequested(_Event):
    order: Ident
    lines: list[RmaLine] = Field(min_length=1, max_length=1000)
    reason: Text


EVENTS: dict[str, tuple[type[_Event], str]] = {
    "customer.registered": (CustomerRegistered, "admin_customer_registered"),
    "contact.submitted": (ContactSubmitted, "admin_contact_message"),
    "affiliate.signed_up": (AffiliateSignedUp, "admin_affiliate_signup"),
    "helpdesk.message": (HelpdeskMessage, "admin_helpdesk_message"),
    "rma.requested": (RmaRequested, "admin_rma_requested"),
}


def handle(event_type: Any, data: Any) -> dict[str, Any]:
    """Validate and act on one event; returns ``{"type", "messages": [...]}``."""
    if not isinstance(event_type, str) or event_type not in EVENTS:
        raise Rejected([{"loc": ["body", "type"], "msg": f"must be one of {', '.join(sorted(EVENTS))}"}])
    model, notification = EVENTS[event_type]
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        raise Rejected(pydantic_errors(exc, ["body", "data"])) from None
    payload = event.model_dump(mode="json")
    with transaction.atomic():
        settings = StoreSettings.load()
        order = None
        order_id = payload.get("order")
        if order_id:
            order = Order.objects.filter(external_id=order_id).first()
            if order is None:
                raise Rejected([{"loc": ["body", "data", "order"], "msg": "no such order"}])
        customer = payload.get("customer")
        if isinstance(customer, dict):
            upsert_customers([customer])
        elif isinstance(customer, str):
            stored = Customer.objects.filter(external_id=customer).first()
            if stored is None:
                raise Rejected([{"loc": ["body", "data", "customer"], "msg": "no such customer"}])
            customer = stored.data
        if isinstance(event, RmaRequested) and order is not None:
            line_ids = {line["id"] for line in order.snapshot.get("lines", ())}
            bad = [i for i, line in enumerate(payload["lines"]) if line["line_id"] not in line_ids]
            if bad:
                raise Rejected(
                    [
                        {"loc": ["body", "data", "lines", i, "line_id"], "msg": "no such line in this order"}
                        for i in bad
                    ]
                )
        event_id = payload.get("id") or uuid.uuid4().hex
        key = f"{notification}:{event_type}:{event_id}"
        messages: list[Message] = []
        if (
            settings.admin_email
            and settings.switches().notification_on(notification)
            and not Message.objects.filter(key=key).exists()
        ):
            reply_to = payload.get("email") or (customer or {}).get("email") or ""
            draft = outbox.Draft(
                key=key,
                notification=notification,
                to_email=settings.admin_email,
                language=settings.default_language,
                context={
                    "event": payload,
                    "customer": customer,
                    "order": order.snapshot if order else None,
                    "order_id": order_id,
                    "changes": [],
                    "custom_message": "",
                },
                order=order,
                priority=Priority.ORDER,
                reply_to=reply_to,
            )
            messages = outbox.queue([draft], settings)
    return {"type": event_type, "messages": [outbox.summary(m) for m in messages]}
