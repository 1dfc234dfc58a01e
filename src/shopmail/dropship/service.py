"""Creating drop-shipper logins (with an invitation link, never a password by mail) and what a
drop-shipper may see: the not-yet-shipped lines of their suppliers, nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from shopmail.domain import changes, statuses
from shopmail.domain.snapshot import _email
from shopmail.dropship.models import DropShipper
from shopmail.mail import outbox
from shopmail.mail.models import Message, Priority
from shopmail.store.models import Order, StoreSettings

USERNAME_PREFIX = "dropship:"  # never the same user name as a staff user
_NAME = re.compile(r"^[^\r\n\x00-\x1f]{1,200}$")
#: what of a shipping address a drop-shipper sees (never an e-mail address)
ADDRESS_FIELDS = (
    "name", "first_name", "last_name", "company", "street", "address1", "address2", "address_1",
    "address_2", "postcode", "zip", "city", "state", "province", "country", "phone",
)  # fmt: skip
SCAN_LIMIT = 20_000  # open orders looked at for a drop-shipper's list


class Invalid(ValueError):
    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors))
        self.errors = errors


def check(name: Any, email: Any, suppliers: Any) -> tuple[str, str, list[str]]:
    errors: list[dict[str, Any]] = []
    if not isinstance(name, str) or not _NAME.match(name.strip() or ""):
        errors.append({"loc": ["body", "name"], "msg": "must be 1 to 200 characters on one line"})
    try:
        email = _email(email) if isinstance(email, str) else None
    except ValueError:
        email = None
    if email is None:
        errors.append({"loc": ["body", "email"], "msg": "must be exactly one e-mail address"})
    elif DropShipper.objects.filter(email__iexact=email).exists():
        errors.append({"loc": ["body", "email"], "msg": "a drop-shipper with this e-mail exists"})
    names: list[str] = []
    if not isinstance(suppliers, list) or not suppliers:
        errors.append({"loc": ["body", "suppliers"], "msg": "name at least one supplier"})
    else:
        for index, supplier in enumerate(suppliers):
            if not isinstance(supplier, str) or not _NAME.match(supplier.strip() or ""):
                errors.append({"loc": ["body", "suppliers", index], "msg": "must be 1 to 200 characters"})
            elif supplier.strip() not in names:
                names.append(supplier.strip())
    if errors:
        raise Invalid(errors)
    return str(name).strip(), str(email).lower(), names


def invite_url(dropshipper: DropShipper) -> str:
    user = dropshipper.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"{django_settings.BASE_URL}/dropship/invite/{uid}/{default_token_generator.make_token(user)}/"


def create(name: Any, email: Any, suppliers: Any) -> tuple[DropShipper, Message | None]:
    """A drop-shipper login and its ``dropshipper_invite`` e-mail (a one-time link to choose a
    password, valid ``PASSWORD_RESET_TIMEOUT``). Raises ``Invalid`` naming every bad field."""
    name, email, names = check(name, email, suppliers)
    with transaction.atomic():
        user = get_user_model()(username=f"{USERNAME_PREFIX}{email}", email=email, is_staff=False)
        user.set_unusable_password()
        user.save()
        dropshipper = DropShipper.objects.create(name=name, email=email, suppliers=names, user=user)
        return dropshipper, invite(dropshipper)


def invite(dropshipper: DropShipper) -> Message | None:
    settings = StoreSettings.load()
    if not settings.switches().notification_on("dropshipper_invite"):
        return None
    dropshipper.invited_at = timezone.now()
    dropshipper.save(update_fields=["invited_at"])
    draft = outbox.Draft(
        key=f"dropshipper_invite:{dropshipper.pk}:{dropshipper.invited_at.timestamp()}",
        notification="dropshipper_invite",
        to_email=dropshipper.email,
        language=settings.default_language,
        context={
            "customer": {"first_name": dropshipper.name, "last_name": "", "email": dropshipper.email},
            "order": None,
            "order_id": None,
            "changes": [],
            "custom_message": "",
            "to_name": dropshipper.name,
            "extras": {
                "invite_url": invite_url(dropshipper),
                "dropshipper": {"name": dropshipper.name, "suppliers": list(dropshipper.suppliers)},
            },
        },
        priority=Priority.ORDER,
    )
    return outbox.queue([draft], settings)[0]


def delete(dropshipper: DropShipper) -> None:
    dropshipper.user.delete()  # the login goes, and the drop-shipper row with it


def public_json(dropshipper: DropShipper) -> dict[str, Any]:
    return {
        "id": dropshipper.pk,
        "name": dropshipper.name,
        "email": dropshipper.email,
        "suppliers": list(dropshipper.suppliers),
        "created_at": dropshipper.created_at.isoformat(),
        "invited_at": dropshipper.invited_at.isoformat() if dropshipper.invited_at else None,
        "password_set": dropshipper.user.has_usable_password(),
    }


def ship_to(snapshot: dict[str, Any]) -> dict[str, str]:
    address = snapshot.get("shipping_address") or {}
    return {k: str(address[k]) for k in ADDRESS_FIELDS if isinstance(address, dict) and address.get(k)}


def open_lines(snapshot: dict[str, Any], suppliers: Sequence[str], meaning: Any) -> list[dict[str, Any]]:
    """The lines of ``suppliers`` still to ship on an order (none on a cancelled or refunded one)."""
    if meaning(snapshot.get("status")) in (statuses.CANCELLED, statuses.REFUNDED):
        return []
    left = {item["line"]: item["quantity"] for item in changes.remaining(snapshot)}
    wanted = set(suppliers)
    return [
        {
            "line_id": line["id"],
            "sku": line.get("sku") or "",
            "name": line.get("name") or "",
            "quantity": left[line["id"]],
        }
        for line in snapshot.get("lines") or ()
        if line.get("supplier") in wanted and line["id"] in left
    ]


def candidates(dropshipper: DropShipper, settings: StoreSettings) -> Any:
    """Orders that may carry an open line of the drop-shipper's suppliers, narrowed in SQL: one of
    the supplier names appears in the snapshot (as JSON text, either escaping), and the status does
    not mean cancelled or refunded. ``open_lines`` decides exactly."""
    if not dropshipper.suppliers:
        return Order.objects.none()
    names = Q()
    for supplier in dropshipper.suppliers:
        names |= Q(snapshot__icontains=json.dumps(supplier))
        names |= Q(snapshot__icontains=json.dumps(supplier, ensure_ascii=False))
    closed = [
        slug
        for slug, means in statuses.status_map(settings.platform, settings.status_map).items()
        if means in (statuses.CANCELLED, statuses.REFUNDED)
    ]
    query = Order.objects.filter(names).exclude(status__in=closed)
    fields = ("external_id", "number", "snapshot", "snapshot_hash")
    return query.order_by("created_at", "pk").only(*fields)[:SCAN_LIMIT]


def visible_orders(dropshipper: DropShipper, orders: Iterable[Order] | None = None) -> list[dict[str, Any]]:
    """What the portal shows: per order its number, the ship-to address and the open lines of the
    drop-shipper's suppliers. Never the customer, never other suppliers' lines."""
    settings = StoreSettings.load()
    meaning = settings.meaning()
    if orders is None:
        orders = candidates(dropshipper, settings)
    out = []
    for order in orders:
        lines = open_lines(order.snapshot or {}, dropshipper.suppliers, meaning)
        if lines:
            out.append(
                {
                    "order_id": order.external_id,
                    "number": order.number or order.external_id,
                    "ship_to": ship_to(order.snapshot or {}),
                    "lines": lines,
                    "version": order.snapshot_hash,  # a form sent twice ships once
                }
            )
    return out


def visible_order(dropshipper: DropShipper, order_id: str) -> dict[str, Any] | None:
    found = Order.objects.filter(external_id=order_id).only(
        "external_id", "number", "snapshot", "snapshot_hash"
    )
    orders = visible_orders(dropshipper, found)
    return orders[0] if orders else None
