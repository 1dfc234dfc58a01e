"""Order-update changes in the customer's words and language (``describe_change``)."""

# ruff: noqa: RUF001 - translated prose uses typographic dashes and quotes on purpose
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel.dates import format_skeleton

from shopmail.mail.render.formatting import LOCALES, _date, _int, _language, _str, _to_date

_CHANGE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "status_changed": "The status of your order is now “{status}”",
        "delivery_note_printed": "The delivery note has been printed and your order is being prepared for"
        " shipping",
        "picked": "Your order has been picked",
        "shipment_number_entered": "Your parcel sent with {carrier} now has tracking number {number}",
        "shipment_number_entered_plain": "Your parcel now has tracking number {number}",
        "delivered_quantity_changed": "{name}: {after} of {quantity} delivered so far",
        "delivered_in_full": "{name} has been delivered in full",
        "date_moved": "Expected delivery of {name} moved from {before} to {after}",
        "date_set": "{name} is now expected to be delivered on {after}",
        "date_unset": "We no longer have an expected delivery date for {name}; we will let you know as soon"
        " as we do",
        "order_date_moved": "Expected delivery of your order moved from {before} to {after}",
        "order_date_set": "Your order is now expected to be delivered on {after}",
        "order_date_unset": "We no longer have an expected delivery date for your order; we will let you know"
        " as soon as we do",
        "back_in_stock": "{name} is back in stock",
    },
    "nb": {
        "status_changed": "Bestillingen din har nå status «{status}»",
        "delivery_note_printed": "Følgeseddelen er skrevet ut, og bestillingen din gjøres klar for sending",
        "picked": "Varene i bestillingen din er plukket",
        "shipment_number_entered": "Pakken din som sendes med {carrier}, har nå sporingsnummer {number}",
        "shipment_number_entered_plain": "Pakken din har nå sporingsnummer {number}",
        "delivered_quantity_changed": "{name}: {after} av {quantity} er levert så langt",
        "delivered_in_full": "{name} er levert i sin helhet",
        "date_moved": "Forventet levering av {name} er flyttet fra {before} til {after}",
        "date_set": "{name} ventes nå levert {after}",
        "date_unset": "Vi har ikke lenger noen forventet leveringsdato for {name}, men gir beskjed så snart"
        " vi vet mer",
        "order_date_moved": "Forventet levering av bestillingen din er flyttet fra {before} til {after}",
        "order_date_set": "Bestillingen din ventes nå levert {after}",
        "order_date_unset": "Vi har ikke lenger noen forventet leveringsdato for bestillingen din, men gir"
        " beskjed så snart vi vet mer",
        "back_in_stock": "{name} er på lager igjen",
    },
    "de": {
        "status_changed": "Ihre Bestellung hat jetzt den Status „{status}“",
        "delivery_note_printed": "Der Lieferschein ist gedruckt – Ihre Bestellung wird für den Versand"
        " vorbereitet",
        "picked": "Die Artikel Ihrer Bestellung wurden kommissioniert",
        "shipment_number_entered": "Ihr Paket mit {carrier} hat jetzt die Sendungsnummer {number}",
        "shipment_number_entered_plain": "Ihr Paket hat jetzt die Sendungsnummer {number}",
        "delivered_quantity_changed": "{name}: {after} von {quantity} bisher geliefert",
        "delivered_in_full": "{name} wurde vollständig geliefert",
        "date_moved": "Die voraussichtliche Lieferung von {name} verschiebt sich vom {before} auf den"
        " {after}",
        "date_set": "{name} wird voraussichtlich am {after} geliefert",
        "date_unset": "Für {name} gibt es derzeit keinen voraussichtlichen Liefertermin – wir melden uns,"
        " sobald wir mehr wissen",
        "order_date_moved": "Die voraussichtliche Lieferung Ihrer Bestellung verschiebt sich vom {before} auf"
        " den {after}",
        "order_date_set": "Ihre Bestellung wird voraussichtlich am {after} geliefert",
        "order_date_unset": "Für Ihre Bestellung gibt es derzeit keinen voraussichtlichen Liefertermin – wir"
        " melden uns, sobald wir mehr wissen",
        "back_in_stock": "{name} ist wieder auf Lager",
    },
}


def _short_dates(before: Any, after: Any, language: str) -> tuple[str, str]:
    """Two dates in words; without the year when both fall in the same one ("3 Dec" to "9 Dec"),
    with no-break spaces."""
    first, second = _to_date(before) if before else None, _to_date(after) if after else None
    if first and second and first.year == second.year:
        locale = LOCALES[language]
        pair = format_skeleton("dMMM", first, locale=locale), format_skeleton("dMMM", second, locale=locale)
    else:
        pair = _date(before, language), _date(after, language)
    return pair[0].replace(" ", "\u00a0"), pair[1].replace(" ", "\u00a0")  # a date is not broken over lines


def describe_change(change: Mapping[str, Any], language: str, order: Mapping[str, Any] | None) -> str:
    """An order-update change in the customer's words and language."""
    language = _language(language)
    # a language staff added templates for has no sentences here yet: English ones
    words = _CHANGE_TEXT.get(language, _CHANGE_TEXT["en"])
    rule = _str(change.get("rule"))
    before, after = change.get("before"), change.get("after")
    lines = {
        _str(line.get("id")): line for line in (order or {}).get("lines") or () if isinstance(line, Mapping)
    }
    line = lines.get(_str(change.get("line"))) if change.get("line") is not None else None
    name = _str((line or {}).get("name") or (line or {}).get("sku")) if line else ""
    if rule == "status_changed":
        status = _str(after)
        if order and order.get("status") == after and order.get("status_label"):
            status = _str(order.get("status_label"))
        return words[rule].format(status=status)
    if rule in ("delivery_note_printed", "picked"):
        return words[rule]
    if rule == "shipment_number_entered":
        shipments = [s for s in (order or {}).get("shipments") or () if isinstance(s, Mapping)]
        shipment = next((s for s in shipments if s.get("id") == change.get("shipment")), None) or next(
            (s for s in shipments if after and s.get("tracking_number") == after), None
        )
        carrier = _str((shipment or {}).get("carrier"))
        key = rule if carrier else "shipment_number_entered_plain"
        return words[key].format(carrier=carrier, number=_str(after))
    if rule == "delivered_quantity_changed" and line is not None:
        quantity, delivered = _int(line.get("quantity")), _int(after)
        if quantity and delivered >= quantity:
            return words["delivered_in_full"].format(name=name)
        return words[rule].format(name=name, after=delivered, quantity=quantity)
    if rule == "expected_delivery_date_changed":
        first, second = _short_dates(before, after, language)
        prefix = "" if name else "order_"
        key = "date_moved" if first and second else "date_set" if second else "date_unset"
        return words[prefix + key].format(name=name, before=first, after=second)
    if rule == "back_in_stock" and name:
        return words[rule].format(name=name)
    return _str(change.get("description")) or rule
