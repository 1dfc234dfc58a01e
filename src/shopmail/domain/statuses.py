"""Status meanings (SPEC section 3): what a shop's own status slug means to shopmail.

Plain Python, no Django. Every shop names its statuses its own way (WooCommerce ``on-hold``,
Magento ``canceled`` and ``holded``, PrestaShop numbered states); shopmail acts on one of seven
meanings. The store's ``platform`` picks a preset map and its ``status_map`` overrides or adds
entries. A status found in neither is *unmapped*: ``meaning`` answers None, and an unmapped
status is never taken for a confirmation (it fires ``status_changed`` only).

Shopify orders have no single status; ``shopify_status`` derives one from ``financial_status``,
``fulfillment_status`` and ``cancelled_at`` (the connector puts it in the snapshot's
``status``), and the Shopify preset maps those derived slugs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shopmail.domain.marks import gettext_noop

PENDING = "pending"
ON_HOLD = "on_hold"
FAILED = "failed"
PROCESSING = "processing"
COMPLETED = "completed"
CANCELLED = "cancelled"
REFUNDED = "refunded"

#: What the history says of a status that is in no map (never a meaning itself).
UNMAPPED = "unmapped"

#: The seven meanings, in the order an order usually passes through them.
MEANINGS = (PENDING, ON_HOLD, FAILED, PROCESSING, COMPLETED, CANCELLED, REFUNDED)


#: What each meaning stands for, for staff (panel, API docs).
MEANING_TEXT: dict[str, str] = {
    PENDING: gettext_noop(
        "received, not paid or not processed yet (check, bank transfer, authorised not captured)"
    ),
    ON_HOLD: gettext_noop("received, waiting on the shop (like pending)"),
    FAILED: gettext_noop("payment failed: never a confirmation"),
    PROCESSING: gettext_noop("being processed: confirmed"),
    COMPLETED: gettext_noop("fulfilled"),
    CANCELLED: gettext_noop("cancelled"),
    REFUNDED: gettext_noop("refunded"),
}

#: Meanings that confirm an order, and the ones an order is confirmed *from*.
CONFIRMED = (PROCESSING, COMPLETED)
UNCONFIRMED = (PENDING, ON_HOLD, FAILED, None)

PLATFORMS = ("generic", "woocommerce", "shopify", "magento", "prestashop")
DEFAULT_PLATFORM = "generic"

_GENERIC: dict[str, str] = {
    "pending": PENDING,
    "on-hold": ON_HOLD,
    "on_hold": ON_HOLD,
    "failed": FAILED,
    "processing": PROCESSING,
    "paid": PROCESSING,
    "invoiced": PROCESSING,
    "shipped": COMPLETED,
    "completed": COMPLETED,
    "cancelled": CANCELLED,
    "canceled": CANCELLED,
    "refunded": REFUNDED,
}

# WooCommerce core order statuses (wc_get_order_statuses(); the REST API names them without the
# "wc-" prefix, the database and some plugins with it). "checkout-draft" (block checkout's draft
# order) and "trash" are left unmapped: neither is an order a customer placed.
_WOO_CORE: dict[str, str] = {
    "pending": PENDING,
    "on-hold": ON_HOLD,
    "failed": FAILED,
    "processing": PROCESSING,
    "completed": COMPLETED,
    "cancelled": CANCELLED,
    "refunded": REFUNDED,
}
_WOOCOMMERCE = {**_WOO_CORE, **{f"wc-{slug}": meaning for slug, meaning in _WOO_CORE.items()}}

# The slugs ``shopify_status`` produces: financial_status values (Shopify Admin REST Order
# resource: pending, authorized, partially_paid, paid, partially_refunded, refunded, voided),
# plus "fulfilled" (paid and fulfilled) and "cancelled" (cancelled_at set).
_SHOPIFY: dict[str, str] = {
    "pending": PENDING,
    "authorized": PENDING,
    "partially_paid": PROCESSING,
    "paid": PROCESSING,
    "partially_refunded": PROCESSING,
    "refunded": REFUNDED,
    "voided": CANCELLED,
    "cancelled": CANCELLED,
    "fulfilled": COMPLETED,
}

# Magento 2 default order statuses (sales_order_status): "canceled" and "holded" are their
# spelling; "closed" is an order with a credit memo for everything (refunded); "fraud" and
# "payment_review" wait on the shop.
_MAGENTO: dict[str, str] = {
    "pending": PENDING,
    "pending_payment": PENDING,
    "pending_paypal": PENDING,
    "payment_review": ON_HOLD,
    "fraud": ON_HOLD,
    "holded": ON_HOLD,
    "processing": PROCESSING,
    "complete": COMPLETED,
    "closed": REFUNDED,
    "canceled": CANCELLED,
    "paypal_canceled_reversal": PROCESSING,
    "paypal_reversed": REFUNDED,
}

# PrestaShop 1.7/8 default order states: by id (id_order_state) and by their English name in
# snake case, as a module or an export sends them.
_PRESTASHOP_STATES: tuple[tuple[int, str, str], ...] = (
    (1, "awaiting_check_payment", PENDING),
    (2, "payment_accepted", PROCESSING),
    (3, "processing_in_progress", PROCESSING),
    (4, "shipped", COMPLETED),
    (5, "delivered", COMPLETED),
    (6, "canceled", CANCELLED),
    (7, "refunded", REFUNDED),
    (8, "payment_error", FAILED),
    (9, "on_backorder_paid", PROCESSING),
    (10, "awaiting_bank_wire_payment", PENDING),
    (11, "remote_payment_accepted", PROCESSING),
    (12, "on_backorder_not_paid", ON_HOLD),
    (13, "awaiting_cash_on_delivery_validation", PENDING),
)
_PRESTASHOP: dict[str, str] = {
    **{str(number): meaning for number, _, meaning in _PRESTASHOP_STATES},
    **{name: meaning for _, name, meaning in _PRESTASHOP_STATES},
    "cancelled": CANCELLED,
}

PRESETS: dict[str, dict[str, str]] = {
    "generic": _GENERIC,
    "woocommerce": _WOOCOMMERCE,
    "shopify": _SHOPIFY,
    "magento": _MAGENTO,
    "prestashop": _PRESTASHOP,
}

Meaning = Callable[[Any], "str | None"]


def preset(platform: str) -> dict[str, str]:
    """The default map of a platform (a copy); ValueError for an unknown platform."""
    try:
        return dict(PRESETS[platform])
    except KeyError:
        raise ValueError(f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})") from None


def status_map(
    platform: str = DEFAULT_PLATFORM, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The effective map: the platform's preset with the store's own entries over it."""
    return {**preset(platform), **dict(overrides or {})}


def map_problems(overrides: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(status, why) for every entry of a ``status_map`` that is not a status -> meaning pair."""
    problems = []
    for status, meaning in overrides.items():
        if not isinstance(status, str) or not status.strip() or len(status) > 64:
            problems.append((str(status), "a status is 1 to 64 characters"))
        elif meaning not in MEANINGS:
            problems.append((status, f"must be one of {', '.join(MEANINGS)}"))
    return problems


def resolver(platform: str = DEFAULT_PLATFORM, overrides: Mapping[str, str] | None = None) -> Meaning:
    """A function from a status slug to its meaning (None: unmapped).

    Looks the slug up as sent, then lower-cased (``Processing``, ``CANCELED``).
    """
    table = status_map(platform, overrides)
    lowered = {key.lower(): value for key, value in table.items()}

    def meaning(status: Any) -> str | None:
        if status is None:
            return None
        key = str(status)
        found = table.get(key)
        return found if found is not None else lowered.get(key.lower())

    return meaning


#: The meaning under the generic preset: the default wherever no store settings are at hand.
generic_meaning: Meaning = resolver()


def meaning_of(
    status: Any, platform: str = DEFAULT_PLATFORM, overrides: Mapping[str, str] | None = None
) -> str | None:
    return resolver(platform, overrides)(status)


def unmapped(statuses: Mapping[str, Any] | list[str], meaning: Meaning) -> list[str]:
    """The statuses among ``statuses`` that have no meaning, sorted."""
    return sorted(status for status in statuses if meaning(status) is None)


_SHOPIFY_PAID = ("paid", "partially_refunded")


def shopify_status(
    financial_status: str | None, fulfillment_status: str | None = None, cancelled_at: Any = None
) -> str:
    """The status slug of a Shopify order (the Shopify preset maps it to a meaning).

    ``cancelled_at`` set -> ``cancelled``; a paid (or partly refunded) order whose
    ``fulfillment_status`` is ``fulfilled`` -> ``fulfilled``; otherwise its ``financial_status``
    (``pending``, ``authorized``, ``paid``, ``partially_paid``, ``partially_refunded``,
    ``refunded``, ``voided``; ``pending`` when missing).
    """
    if cancelled_at:
        return "cancelled"
    financial = (financial_status or "pending").strip().lower()
    if financial in _SHOPIFY_PAID and (fulfillment_status or "").strip().lower() == "fulfilled":
        return "fulfilled"
    return financial


def shopify_meaning(
    financial_status: str | None, fulfillment_status: str | None = None, cancelled_at: Any = None
) -> str | None:
    """The meaning of a Shopify order, derived as SPEC section 3 says."""
    return _SHOPIFY.get(shopify_status(financial_status, fulfillment_status, cancelled_at))


#: A Shopify fulfillment's ``status``: ``success`` is a shipment; ``pending``/``open`` not yet;
#: ``cancelled``/``failure``/``error`` remove it.
SHOPIFY_FULFILLMENT_SHIPPED = ("success",)
SHOPIFY_FULFILLMENT_REMOVED = ("cancelled", "failure", "error")
