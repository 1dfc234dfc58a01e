"""Return requests (RMA): asked for on My page or by the shop's API, decided by staff.

request -> ``admin_rma_requested`` to staff, ``rma.requested`` in the feed;
decide -> ``rma_approved`` / ``rma_denied`` to the customer, ``rma.decided`` in the feed.
Both are written to the order's history too, so staff see them with the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from shopmail.account.customers import customer_dict
from shopmail.account.mailing import queue_customer_mail
from shopmail.mail.models import Message
from shopmail.store import feed
from shopmail.store.models import Customer, Order, OrderEvent
from shopmail.support.models import ReturnRequest
from shopmail.support.notify import admin_url, queue_staff_mail

MAX_REASON = 5000
ACTIVE = (ReturnRequest.Status.REQUESTED, ReturnRequest.Status.APPROVED)


class ReturnRefused(Exception):
    """The request cannot be made; ``errors`` as ``{"loc": [...], "msg": ...}`` (loc relative)."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(str(error["msg"]) for error in errors))
        self.errors = errors


def returnable(order: Order) -> dict[str, int]:
    """Per order line id: how many items may still be asked back (ordered minus active returns)."""
    left = {
        str(line.get("id")): int(line.get("quantity") or 0)
        for line in order.snapshot.get("lines") or ()
        if line.get("id") is not None
    }
    for rma in ReturnRequest.objects.filter(order=order, status__in=ACTIVE):
        for item in rma.lines:
            line_id = str(item.get("line_id"))
            if line_id in left:
                left[line_id] -= int(item.get("quantity") or 0)
    return {line_id: max(quantity, 0) for line_id, quantity in left.items()}


def can_return(order: Order) -> bool:
    return not order.is_cancelled() and any(returnable(order).values())


def rma_dict(rma: ReturnRequest) -> dict[str, Any]:
    """The return request as templates (``rma``), the API and the feed see it."""
    return {
        "id": rma.pk,
        "number": rma.number,
        "status": rma.status,
        "reason": rma.reason,
        "comment": rma.comment,
        "requested_at": rma.requested_at.isoformat(),
        "decided_at": rma.decided_at.isoformat() if rma.decided_at else None,
        "source": rma.source,
        "lines": [dict(item) for item in rma.lines],
    }


def _describe(rma: ReturnRequest) -> str:
    times = "\u00d7"  # the multiplication sign, as in the e-mails
    items = ", ".join(
        f"{item['quantity']} {times} {item.get('name') or item['line_id']}" for item in rma.lines
    )
    return f"Return {rma.number} requested: {items}"


def _check(order: Order, lines: Sequence[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if order.is_cancelled():
        errors.append({"loc": ["order"], "msg": "a cancelled order cannot be returned"})
    if not reason.strip():
        errors.append({"loc": ["reason"], "msg": "say why you are returning the items"})
    elif len(reason) > MAX_REASON:
        errors.append({"loc": ["reason"], "msg": f"at most {MAX_REASON} characters"})
    if not lines:
        errors.append({"loc": ["lines"], "msg": "choose at least one item to return"})
    left = returnable(order)
    seen: set[str] = set()
    for index, item in enumerate(lines):
        line_id, quantity = str(item.get("line_id")), item.get("quantity")
        if line_id not in left:
            errors.append({"loc": ["lines", index, "line_id"], "msg": "no such line in this order"})
        elif line_id in seen:
            errors.append({"loc": ["lines", index, "line_id"], "msg": "this line is listed twice"})
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors.append({"loc": ["lines", index, "quantity"], "msg": "must be at least 1"})
        elif quantity > left[line_id]:
            errors.append(
                {
                    "loc": ["lines", index, "quantity"],
                    "msg": f"at most {left[line_id]} of this line can be returned",
                }
            )
        seen.add(line_id)
    return errors


def request(
    order: Order,
    lines: Sequence[dict[str, Any]],
    reason: str,
    *,
    source: str = "my_page",
    event_id: str | None = None,
) -> tuple[ReturnRequest, list[Message]]:
    """Open a return request for ``order`` (the order's own customer asks). Raises ReturnRefused."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("customer").get(pk=order.pk)
        if event_id:
            replay = ReturnRequest.objects.filter(event_id=event_id).first()
            if replay is not None:
                return replay, []
        errors = _check(order, lines, reason)
        if errors:
            raise ReturnRefused(errors)
        by_id = {str(line.get("id")): line for line in order.snapshot.get("lines") or ()}
        customer: Customer = order.customer
        rma = ReturnRequest.objects.create(
            order=order,
            customer=customer,
            reason=reason.strip(),
            lines=[
                {
                    "line_id": str(item["line_id"]),
                    "name": str(by_id[str(item["line_id"])].get("name") or ""),
                    "sku": str(by_id[str(item["line_id"])].get("sku") or ""),
                    "quantity": int(item["quantity"]),
                }
                for item in lines
            ],
            source=source,
            event_id=event_id or None,
        )
        data = rma_dict(rma)
        message = queue_staff_mail(
            "admin_rma_requested",
            f"admin_rma_requested:rma:{rma.pk}",
            customer=customer_dict(customer),
            extras={"rma": data, "admin_url": admin_url(f"returns/{rma.pk}/")},
            reply_to=customer.email,
            order=order,
        )
        OrderEvent.objects.create(
            order=order,
            rule="rma_requested",
            after=rma.number,
            description=_describe(rma),
            outcome="queued:admin_rma_requested" if message else "recorded",
            message=message,
        )
        feed.record(
            "rma.requested",
            {
                "rma": rma.number,
                "id": rma.pk,
                "order": order.external_id,
                "customer": customer.external_id,
                "lines": data["lines"],
                "reason": rma.reason,
                "source": source,
                "requested_at": data["requested_at"],
            },
        )
    return rma, [message] if message else []


class AlreadyDecided(Exception):
    pass


def decide(
    rma: ReturnRequest,
    *,
    approve: bool,
    comment: str,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> tuple[ReturnRequest, Message | None]:
    """Staff approve or deny; the customer gets ``rma_approved`` or ``rma_denied`` with the comment."""
    with transaction.atomic():
        rma = ReturnRequest.objects.select_for_update().get(pk=rma.pk)
        if rma.status != ReturnRequest.Status.REQUESTED:
            raise AlreadyDecided(rma.status)
        rma.status = ReturnRequest.Status.APPROVED if approve else ReturnRequest.Status.DENIED
        rma.comment = comment.strip()
        rma.decided_at = timezone.now()
        rma.decided_by = user if user is not None and user.is_authenticated else None  # type: ignore[assignment]
        rma.save(update_fields=["status", "comment", "decided_at", "decided_by"])
        order = Order.objects.select_related("customer").get(pk=rma.order_id)
        notification = f"rma_{rma.status}"
        message = queue_customer_mail(
            notification,
            rma.customer,
            f"{notification}:rma:{rma.pk}",
            {"rma": rma_dict(rma)},
            order_id=order.external_id,
            order=order,
        )
        OrderEvent.objects.create(
            order=order,
            rule="rma_decided",
            before=ReturnRequest.Status.REQUESTED.value,
            after=rma.status,
            description=f"Return {rma.number} {rma.status}" + (f": {rma.comment}" if rma.comment else ""),
            outcome=f"queued:{notification}" if message else "recorded",
            message=message,
        )
        feed.record(
            "rma.decided",
            {
                "rma": rma.number,
                "id": rma.pk,
                "order": order.external_id,
                "customer": rma.customer.external_id,
                "status": rma.status,
                "comment": rma.comment,
                "decided_at": rma.decided_at.isoformat(),
            },
        )
    return rma, message
