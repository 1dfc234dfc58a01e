"""Small plain helpers the two payload mappers share (no Django, no I/O)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_SPACE = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029]+")
_URL = re.compile(r"^https?://\S+$")
_LANGUAGE = re.compile(r"^[a-z]{2}([-_][A-Za-z]{2})?$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")

Snapshot = dict[str, Any]


def text(value: Any, limit: int = 500) -> str:
    """One clean line: HTML entities decoded (WooCommerce names carry ``&ndash;``), control
    characters and line breaks folded into single spaces, at most ``limit`` characters."""
    if value is None:
        return ""
    return _SPACE.sub(" ", html.unescape(str(value))).strip()[:limit]


def optional_text(value: Any, limit: int = 500) -> str | None:
    return text(value, limit) or None


def ident(value: Any) -> str:
    """An id as shopmail stores it: the string of the shop's id (``450789469`` → ``"450789469"``)."""
    return text(value, 64)


def url(value: Any) -> str | None:
    """An http(s) URL, or None for anything else (an empty string, a relative path)."""
    value = text(value, 2000)
    return value if _URL.match(value) else None


def amount(value: Any) -> str:
    """A decimal string with at most six decimals, as shopmail keeps amounts (``3`` → ``"3"``)."""
    if value is None or value == "":
        return "0.00"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return "0.00"
    if number != number.quantize(Decimal("0.000001")):
        number = number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    return format(number, "f")


def total(values: Iterable[Any]) -> str:
    """The sum of amounts, with two decimals at least (``["10.00", "9"]`` → ``"19.00"``)."""
    result = sum((Decimal(amount(value)) for value in values), Decimal(0))
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        result = result.quantize(Decimal("0.01"))
    return format(result, "f")


def language(value: Any) -> str | None:
    value = text(value, 16)
    return value if _LANGUAGE.match(value) else None


def country(value: Any) -> str | None:
    value = text(value, 8)
    return value.upper() if _COUNTRY.match(value) else None


def gmt(value: Any) -> str | None:
    """A WooCommerce ``*_gmt`` time (``2017-03-22T19:28:08``, UTC without a zone) with its zone."""
    value = text(value, 40)
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.isoformat()


def unix_time(value: Any) -> str | None:
    """A Unix time (``"1710288000"``) or a date (``"2026-07-10"``) as an ISO 8601 UTC time."""
    raw = text(value, 40)
    if not raw:
        return None
    if raw.lstrip("-").isdigit():
        return dt.datetime.fromtimestamp(int(raw), dt.UTC).isoformat()
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.isoformat()


def address(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def later(first: str, second: str | None) -> str:
    """The later of two ISO 8601 times (``first`` when ``second`` is missing)."""
    if not second:
        return first
    a, b = dt.datetime.fromisoformat(first), dt.datetime.fromisoformat(second)
    return second if b > a else first


def replace_shipment(snapshot: Snapshot, shipment_id: str, shipment: Snapshot | None) -> Snapshot:
    """A copy of ``snapshot`` with the shipment of that id replaced (or removed when None)."""
    shipments = [s for s in snapshot.get("shipments") or () if s.get("id") != shipment_id]
    if shipment is not None:
        shipments.append(shipment)
    return {**snapshot, "shipments": shipments}
