"""The notification registry: every e-mail shopmail sends, and what its templates may use.

Plain data, no Django. The control panel lists these keys with their descriptions, the
template editor refuses variables a notification does not offer, and ``docs/templates.md``
documents the same names (a test keeps the two in step).

Variables are named by dotted paths. ``top_level`` of a notification is the set of names a
template may read from its context; the dotted paths below them document the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shopmail.domain.marks import gettext_noop as _  # names and descriptions, for the catalogs

Audience = Literal["customer", "staff"]

LANGUAGES = ("en", "nb", "de")
DEFAULT_LANGUAGE = "en"


#: Order-update rules (SPEC section 4): key -> what fires it, for the control panel.
ORDER_UPDATE_RULES: dict[str, str] = {
    "status_changed": _("The order status changes (other than to pending, confirmed or cancelled)."),
    "delivery_note_printed": _("The delivery note is printed."),
    "picked": _("The order has been picked in the warehouse."),
    "shipment_number_entered": _("An existing shipment gets a tracking number."),
    "delivered_quantity_changed": _("A line's delivered quantity changes."),
    "expected_delivery_date_changed": _("A not fully delivered line's expected delivery date changes."),
    "back_in_stock": _("A back-ordered product of an open order is back in stock."),
}


@dataclass(frozen=True)
class Variable:
    name: str
    description: str


def _vars(*pairs: tuple[str, str]) -> tuple[Variable, ...]:
    return tuple(Variable(name, description) for name, description in pairs)


#: Offered to every template.
COMMON_VARIABLES = _vars(
    ("company_name", _("The store's name.")),
    ("company_url", _("The store's web address.")),
    ("today", _("Today's date, formatted for the e-mail's language.")),
    ("language", _("The e-mail's language code: en, nb or de.")),
    ("store.company_name", _("The store's name (same as company_name).")),
    ("store.company_url", _("The store's web address (same as company_url).")),
    ("store.brand_color", _("The brand colour as #rrggbb, default #1f6feb.")),
    ("store.from_name", _("The sender name of the store's e-mails.")),
    ("store.logo_url", _("The logo heading every e-mail (branding), or empty.")),
    ("store.footer_text", _("The footer line of every e-mail (branding: address, VAT id), or empty.")),
    ("customer.full_name", _("First and last name; empty when unknown.")),
    ("customer.first_name", _("First name; empty when unknown.")),
    ("customer.last_name", _("Last name; empty when unknown.")),
    ("customer.email", _("E-mail address.")),
    ("customer.phone", _("Phone number; empty when unknown.")),
    ("customer.country", _("Country code; empty when unknown.")),
    ("customer.language", _("Preferred language code.")),
    ("custom_message", _("A personal message staff added when sending; empty when none.")),
)

#: Offered to every notification that is about an order.
ORDER_VARIABLES = _vars(
    ("order.id", _("The shop's order id.")),
    ("order.number", _("The order number shown to the customer.")),
    ("order.date", _("The order date, formatted for the language.")),
    ("order.status", _("The shop's status slug, e.g. processing.")),
    ("order.status_label", _("The status in words, e.g. Awaiting payment.")),
    ("order.currency", _("ISO currency code, e.g. EUR.")),
    ("order.expected_delivery_date", _("The order's expected delivery date, formatted; empty when unknown.")),
    ("order.lines", _("The order lines (fields below).")),
    ("order.lines[].id", _("The line id.")),
    ("order.lines[].name", _("Product name.")),
    ("order.lines[].sku", _("Product SKU.")),
    ("order.lines[].quantity", _("Quantity ordered (a number).")),
    ("order.lines[].unit_price", _("Unit price, formatted with the currency.")),
    ("order.lines[].line_total", _("Quantity times unit price, formatted.")),
    ("order.lines[].delivered_quantity", _("Quantity delivered so far (a number).")),
    ("order.lines[].shipped_quantity", _("Quantity shipped so far (a number).")),
    ("order.lines[].backordered", _("True when the line waits for stock.")),
    ("order.lines[].expected_delivery_date", _("Expected delivery date, formatted; empty when unknown.")),
    ("order.lines[].download", _("For downloadable products, else empty: url, license_keys, instructions.")),
    ("order.lines[].download.url", _("Download link.")),
    ("order.lines[].download.license_keys", _("List of licence keys.")),
    ("order.lines[].download.instructions", _("How to install or use the product.")),
    ("order.totals.subtotal", _("Subtotal, formatted.")),
    ("order.totals.shipping", _("Shipping, formatted.")),
    ("order.totals.tax", _("Tax, formatted.")),
    ("order.totals.total", _("Total, formatted.")),
    ("order.shipments", _("The order's shipments (same fields as shipment).")),
    (
        "order.shipping_address",
        _(
            "Shipping address: name, company, address1, address2, postcode, city,"
            " region, country, phone, and lines (the address as a list of lines)."
        ),
    ),
    ("order.billing_address", _("Billing address, same fields as the shipping address.")),
    ("shipment", _("The new shipment, for shipment notices; empty otherwise.")),
    ("shipment.id", _("Shipment id.")),
    ("shipment.carrier", _("Carrier name, e.g. UPS.")),
    ("shipment.tracking_number", _("Tracking number; empty when none.")),
    ("shipment.tracking_url", _("Tracking link; empty when none.")),
    ("shipment.shipped_at", _("Date shipped, formatted.")),
    ("shipment.drop_shipper", _("Who shipped it, when not the store itself; empty otherwise.")),
    ("shipment.lines", _("What it contains: line_id, name, sku, quantity.")),
    ("changes", _("The order-update changes found (fields below); empty list when none.")),
    ("changes[].rule", _("The rule key, e.g. picked.")),
    ("changes[].description", _("The change in the customer's language.")),
    ("changes[].before", _("The value before, formatted; empty when none.")),
    ("changes[].after", _("The value after, formatted; empty when none.")),
    ("changes[].line", _("The order line concerned (fields as order.lines), or empty.")),
    ("order_url", _("Link to the order on My page, working without logging in.")),
)

_REMAINING = (
    "remaining",
    _("What is still to ship: id, name, sku, quantity, expected_delivery_date, backordered."),
)
_ADMIN_URL = ("admin_url", _("Link to the matter in the control panel."))
_RMA = (
    "rma",
    _(
        "The return request: id, number, status, reason, comment, requested_at,"
        " and lines (line_id, name, sku, quantity)."
    ),
)
_THREAD = ("thread", _("The help-desk thread: id, subject, url, order_number."))


@dataclass(frozen=True)
class Notification:
    key: str
    #: The name in words for the control panel ("Order confirmation"), in English: a msgid of
    #: the ``django`` gettext catalogs, where its nb and de names are (``name()`` in the panel).
    title: str
    audience: Audience
    description: str
    about_order: bool
    extras: tuple[Variable, ...] = ()

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Every variable a template of this notification may use, as dotted paths."""
        return COMMON_VARIABLES + (ORDER_VARIABLES if self.about_order else ()) + self.extras

    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(variable.name for variable in self.variables)

    @property
    def top_level(self) -> frozenset[str]:
        """The names a template may read from its context."""
        return frozenset(_root(name) for name in self.variable_names)

    @property
    def extra_names(self) -> tuple[str, ...]:
        return tuple(variable.name for variable in self.extras)


def _root(name: str) -> str:
    return name.split(".", 1)[0].split("[", 1)[0]


def _n(
    key: str, title: str, audience: Audience, description: str, about_order: bool, *extras: tuple[str, str]
) -> Notification:
    return Notification(key, title, audience, description, about_order, _vars(*extras))


_ALL = (
    _n(
        "order_received",
        _("Order received"),
        "customer",
        _("A new order arrives awaiting payment or processing (status pending)."),
        True,
    ),
    _n(
        "order_confirmed",
        _("Order confirmation"),
        "customer",
        _("A new order is confirmed, or leaves pending; with download links, licence keys and instructions."),
        True,
    ),
    _n(
        "order_backorder_choice",
        _("Back-order choice"),
        "customer",
        _("Some lines are back-ordered: the customer chooses one shipment or several."),
        True,
        ("backorder_choice_urls.one_shipment", _("Link: wait and ship everything together.")),
        ("backorder_choice_urls.split_shipments", _("Link: ship what is ready now, the rest later.")),
        _REMAINING,
    ),
    _n(
        "order_partially_shipped",
        _("Order partly shipped"),
        "customer",
        _("Part of the order shipped: what, how, and what follows."),
        True,
        _REMAINING,
    ),
    _n("order_shipped", _("Order shipped"), "customer", _("Everything in the order has now shipped."), True),
    _n("order_cancelled", _("Order cancelled"), "customer", _("The order was cancelled."), True),
    _n(
        "order_completed",
        _("Order completed"),
        "customer",
        _("The order is now completed (fulfilled) and no shipment notice said so."),
        True,
    ),
    _n(
        "order_refunded",
        _("Refund"),
        "customer",
        _("The order was refunded, in full or in part (a new refund, with its amount)."),
        True,
        ("refund", _("The refund: id, amount (formatted), reason, full (true for the whole order).")),
    ),
    _n(
        "order_payment_failed",
        _("Payment failed"),
        "customer",
        _("The payment of the order failed (off by default)."),
        True,
    ),
    _n(
        "order_updated",
        _("Order update"),
        "customer",
        _("One e-mail listing the order-update changes found."),
        True,
        _REMAINING,
    ),
    _n(
        "rma_approved",
        _("Return approved"),
        "customer",
        _("Staff approved a return request, with their comment."),
        True,
        _RMA,
    ),
    _n(
        "rma_denied",
        _("Return declined"),
        "customer",
        _("Staff declined a return request, with their comment."),
        True,
        _RMA,
    ),
    _n(
        "password_reset",
        _("Password reset"),
        "customer",
        _("A one-time link to set a new My page password."),
        False,
        ("reset_url", _("The one-time link to choose a new password.")),
    ),
    _n(
        "helpdesk_reply",
        _("Help-desk reply"),
        "customer",
        _("Staff replied to the customer's help-desk thread."),
        False,
        _THREAD,
        ("message", _("The reply: author, body, date.")),
    ),
    _n(
        "account_invite",
        _("My page invitation"),
        "customer",
        _("An invitation to set a My page password."),
        False,
        ("invite_url", _("The link to set a password.")),
    ),
    _n(
        "dropshipper_invite",
        _("Drop-shipper invitation"),
        "staff",
        _("A new drop-shipper login: a one-time link to choose a password (SPEC 7)."),
        False,
        ("invite_url", _("The one-time link to choose a password.")),
        ("dropshipper", _("The drop-shipper: name, suppliers.")),
    ),
    _n(
        "newsletter",
        _("Newsletter"),
        "customer",
        _("A newsletter to customers who opted in."),
        False,
        ("newsletter", _("The newsletter: subject, html (trusted HTML from staff), text.")),
        ("unsubscribe_url", _("One-click unsubscribe link.")),
    ),
    _n("admin_order_placed", _("New order (to staff)"), "staff", _("A new order arrived."), True, _ADMIN_URL),
    _n(
        "admin_order_failed",
        _("Failed payment (to staff)"),
        "staff",
        _("The payment of an order failed."),
        True,
        _ADMIN_URL,
    ),
    _n(
        "admin_customer_registered",
        _("New customer (to staff)"),
        "staff",
        _("A customer registered."),
        False,
        _ADMIN_URL,
    ),
    _n(
        "admin_rma_requested",
        _("Return request (to staff)"),
        "staff",
        _("A customer asks for a return authorisation."),
        True,
        _RMA,
        _ADMIN_URL,
    ),
    _n(
        "admin_contact_message",
        _("Contact form message (to staff)"),
        "staff",
        _("Someone used the contact form (Reply-To is the sender)."),
        False,
        ("message", _("The message: name, email, subject, body, order_number, date.")),
        _ADMIN_URL,
    ),
    _n(
        "admin_helpdesk_message",
        _("Help-desk message (to staff)"),
        "staff",
        _("A customer posted to the help desk."),
        False,
        _THREAD,
        ("message", _("The post: author, body, date.")),
        _ADMIN_URL,
    ),
    _n(
        "admin_affiliate_signup",
        _("New affiliate (to staff)"),
        "staff",
        _("A new affiliate signed up."),
        False,
        (
            "affiliate",
            _("The affiliate: name, email, website, and details (label, value) of any other fields."),
        ),
        _ADMIN_URL,
    ),
)

NOTIFICATIONS: dict[str, Notification] = {notification.key: notification for notification in _ALL}
CUSTOMER_NOTIFICATIONS = tuple(key for key, n in NOTIFICATIONS.items() if n.audience == "customer")
STAFF_NOTIFICATIONS = tuple(key for key, n in NOTIFICATIONS.items() if n.audience == "staff")


def get(key: str) -> Notification:
    """The notification named ``key``; KeyError naming it when there is none."""
    try:
        return NOTIFICATIONS[key]
    except KeyError:
        raise KeyError(f"unknown notification {key!r}") from None
