"""The customer as e-mails and the feed see them, and changes customers make on My page."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from shopmail.store import feed
from shopmail.store.models import Customer

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "country")
SETTINGS_FIELDS = ("newsletter_opt_in", "newsletter_opt_in_at", "language")


def customer_dict(customer: Customer) -> dict[str, Any]:
    """The customer for a template context (``customer.*``) and for the feed."""
    data = customer.data if isinstance(customer.data, dict) else {}
    return {
        "id": customer.external_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "language": customer.language,
        "country": customer.country,
        "phone": str(data.get("phone") or ""),
    }


def _value(customer: Customer, name: str) -> Any:
    if name == "phone":
        return str((customer.data or {}).get("phone") or "")
    value = getattr(customer, name)
    return value.isoformat() if hasattr(value, "isoformat") else value


def update(customer: Customer, changes: dict[str, Any]) -> list[str]:
    """Apply My page changes, record ``customer.updated`` in the feed; the names that changed.

    ``data_hash`` is left as the shop last sent it, so the shop re-sending the same old record
    does not undo the customer's change; the shop picks it up from the feed.
    """
    changed: dict[str, dict[str, Any]] = {}
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        data = customer.data = dict(customer.data or {})
        for name, new in changes.items():
            before = _value(customer, name)
            if name == "phone":
                data["phone"] = new or None
            else:
                setattr(customer, name, new)
            after = _value(customer, name)
            if after != before:
                changed[name] = {"before": before, "after": after}
                if name != "phone":
                    data[name] = after
        if "newsletter_opt_in" in changed:  # the time of consent, or none after opting out
            before_at = _value(customer, "newsletter_opt_in_at")
            customer.newsletter_opt_in_at = timezone.now() if customer.newsletter_opt_in else None
            after_at = _value(customer, "newsletter_opt_in_at")
            changed["newsletter_opt_in_at"] = {"before": before_at, "after": after_at}
            data["newsletter_opt_in_at"] = after_at
        if not changed:
            return []
        customer.save()
        feed.record(
            "customer.updated",
            {
                "customer": customer.external_id,
                "changed": sorted(changed),
                "changes": changed,
                "fields": {
                    **customer_dict(customer),
                    "newsletter_opt_in": customer.newsletter_opt_in,
                    "newsletter_opt_in_at": _value(customer, "newsletter_opt_in_at"),
                },
                "source": "my_page",
            },
        )
    return sorted(changed)
