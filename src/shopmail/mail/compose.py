"""From an outbox row to the exact bytes to send: context, render, MIME.

Done once per message: the result (subject, text, HTML and the raw message with its fixed
Message-ID and Date) is stored on the payload, so a retry sends the very same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from shopmail import db
from shopmail.domain import mime
from shopmail.mail import links, rendering, signing, templates
from shopmail.mail.models import Message, Payload
from shopmail.store.models import Product, StoreSettings


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str
    raw: bytes
    version: str
    keep: bool = True  # False: bulk mail, not stored on the payload; composed again for a retry


Composer = Callable[[Message, Payload, StoreSettings], "Composed | None"]
Completer = Callable[[Sequence[tuple[Message, Payload]], StoreSettings], None]
_COMPOSERS: dict[str, Composer] = {}
_COMPLETERS: dict[str, Completer] = {}


def register(notification: str, composer: Composer, complete: Completer | None = None) -> None:
    """A feature composes its own notification (the newsletter renders its shared parts once per
    newsletter): registered from its AppConfig.ready(), so mail never imports a feature. A
    composer returns ``None`` for a message it leaves to the standard path. ``complete``, if
    given, fills in a whole batch's payloads before they are composed (the newsletter reads its
    recipients' personal parts in one query); the composer must not rely on it."""
    _COMPOSERS[notification] = composer
    if complete is not None:
        _COMPLETERS[notification] = complete


def complete(pairs: Sequence[tuple[Message, Payload]], settings: StoreSettings) -> None:
    """Let each registered feature fill in its messages' payloads of this batch at once."""
    for notification, completer in _COMPLETERS.items():
        mine = [pair for pair in pairs if pair[0].notification == notification]
        if mine:
            completer(mine, settings)


# Keys of the per-batch ``sources`` dict besides (notification, language) -> template: what one
# compose batch (one ingest run, one worker batch) looks up once instead of once per message.
_PRODUCTS = "products"  # (SKUs looked up, {sku: download_instructions} of those that have some)
_STAMP = "stamp"  # the template versions' stamp (templates.stamp), read once per batch

Sources = dict[Any, Any]


def _order_skus(order: Any) -> set[str]:
    if not isinstance(order, dict):
        return set()
    return {
        str(line.get("sku"))
        for line in order.get("lines") or ()
        if isinstance(line, dict) and line.get("sku")
    }


def _lookup_instructions(skus: set[str]) -> dict[str, str]:
    rows = db.values_in(Product, ["sku", "download_instructions"], "sku", sorted(skus))
    return {sku: text for sku, text in rows if text}


def prefetch(payloads: Sequence[Payload], sources: Sources) -> None:
    """One product query for the SKUs of every order in the batch (instead of one per message)."""
    skus: set[str] = set()
    for payload in payloads:
        skus |= _order_skus(payload.context.get("order"))
    _known_instructions(skus, sources)


def _known_instructions(skus: set[str], sources: Sources) -> dict[str, str]:
    looked_up, found = sources.get(_PRODUCTS) or (frozenset(), {})
    missing = skus - looked_up
    if missing:
        found = {**found, **_lookup_instructions(missing)}
        sources[_PRODUCTS] = (looked_up | missing, found)
    return found  # type: ignore[no-any-return]


def _product_instructions(order: dict[str, Any], sources: Sources | None = None) -> dict[str, str]:
    """{sku: a product's download_instructions} for the order's lines (SPEC 3: a product's
    instructions apply to every order line of that SKU); with ``sources``, looked up once per batch."""
    skus = _order_skus(order)
    if not skus:
        return {}
    if sources is None:
        return _lookup_instructions(skus)
    found = _known_instructions(skus, sources)
    return {sku: found[sku] for sku in skus if sku in found}


def _extras(notification: str, context: dict[str, Any], sources: Sources | None = None) -> dict[str, Any]:
    extras: dict[str, Any] = dict(context.get("extras") or {})
    order_id = context.get("order_id")
    if notification == "order_backorder_choice" and order_id:
        urls = links.backorder_urls(order_id)
        extras["backorder_choice_urls"] = {
            "one_shipment": urls["one_shipment"],
            "split_shipments": urls["ship_available"],
        }
    order = context.get("order")
    if isinstance(order, dict) and "download_instructions" not in extras:
        extras["download_instructions"] = _product_instructions(order, sources)
    event = context.get("event")
    if event is not None:
        extras.setdefault("message", event)
        if notification == "admin_affiliate_signup":
            extras.setdefault("affiliate", event)
        if notification == "admin_rma_requested":
            extras.setdefault("rma", event)
    return extras


def render_message(
    message: Message,
    payload: Payload,
    settings: StoreSettings,
    source: rendering.TemplateSource | None = None,
    sources: Sources | None = None,
) -> tuple[rendering.Rendered, str]:
    context = payload.context
    order = context.get("order")
    customer = context.get("customer") or (order or {}).get("customer")
    order_id = context.get("order_id")
    version = "preview"
    language = templates.language_of(message.notification, payload.language, settings.default_language)
    if source is None:
        key = (message.notification, language)
        if sources is not None and key in sources:  # one lookup per template and batch
            source, version = sources[key]
        elif sources is not None:  # the versions' stamp is read once per batch, too
            if _STAMP not in sources:
                sources[_STAMP] = templates.stamp()
            source, version = templates.current(*key, stamp=sources[_STAMP])
            sources[key] = (source, version)
        else:
            source, version = templates.current(*key)
    built = rendering.build_context(
        message.notification,
        language=language,
        store=settings.store_context(),
        order=order,
        customer=customer,
        changes=context.get("changes") or (),
        shipment_id=context.get("shipment_id"),
        custom_message=context.get("custom_message") or "",
        order_url=links.order_url(order_id) if order_id else "",
        extras=_extras(message.notification, context, sources),
    )
    return rendering.render(message.notification, language, built, source), version


def compose(
    message: Message,
    payload: Payload,
    settings: StoreSettings,
    sources: Sources | None = None,
) -> Composed:
    """Render, build and sign the message (DKIM, once, whichever composer made it). Raises
    ``rendering.TemplateRenderError`` or ``mime.HeaderError``."""
    composer = _COMPOSERS.get(message.notification)
    composed = composer(message, payload, settings) if composer is not None else None
    if composed is None:
        composed = compose_standard(message, payload, settings, sources)
    return dataclasses.replace(composed, raw=signing.sign(composed.raw, settings))


def compose_standard(
    message: Message,
    payload: Payload,
    settings: StoreSettings,
    sources: Sources | None = None,
) -> Composed:
    """The standard way, unsigned: the notification's template rendered for this message. A
    registered composer that falls back to it returns this; ``compose`` signs the result."""
    rendered, version = render_message(message, payload, settings, sources=sources)
    customer = payload.context.get("customer") or (payload.context.get("order") or {}).get("customer") or {}
    to_name = (
        ""
        if message.to_email == settings.admin_email
        else " ".join(part for part in (customer.get("first_name"), customer.get("last_name")) if part)
    )
    if isinstance(payload.context.get("to_name"), str):  # e.g. a test send to another address
        to_name = payload.context["to_name"]
    reply_to = payload.reply_to or settings.reply_to
    raw = mime.build_message(
        message_id=message.message_id,
        from_=mime.Address(settings.from_email, settings.from_name),
        to=[mime.Address(message.to_email, to_name)],
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        date=timezone.now(),
        reply_to=mime.Address(reply_to) if reply_to else None,
        extra_headers=[
            ("X-Shopmail-Notification", message.notification),
            *map(tuple, payload.context.get("headers") or ()),
        ],
    )
    return Composed(rendered.subject, rendered.text, rendered.html, raw, version)
