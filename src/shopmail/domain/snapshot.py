"""The shapes of the data a shop sends in (SPEC section 3), validated with Pydantic.

Unknown fields are kept (``extra="allow"``) so staff can see them, but they carry no meaning.
Every string is checked for NUL characters (no database stores them) and capped in length, so
bad input gets a clear 422 naming the field instead of a failure deep inside the database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Annotated, Any

import pydantic
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

_EMAIL = re.compile(r"^[^@\s,;<>\"'()\[\]\\]+@[^@\s,;<>\"'()\[\]\\]+\.[^@\s,;<>\"'()\[\]\\]+$")
_DECIMAL = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"  # ASCII digits: \d matches any script's
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")


_NUL = "must not contain NUL characters"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(_NUL)
    return value


def _single_line(value: str) -> str:
    if "\r" in value or "\n" in value or _CONTROL.search(value):
        raise ValueError("must be a single line without control characters")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value) or _CONTROL.search(value):
        raise ValueError("must be exactly one e-mail address")
    return value


_MAX_OFFSET = dt.timedelta(hours=14)  # the widest offset any real time zone has (UTC+14:00)


def instant_problem(value: dt.datetime) -> str | None:
    """Why an aware date-time cannot be stored, or None. Python accepts offsets up to ±23:59,
    PostgreSQL only up to ±15:59, and a time near year 1 or 9999 may not exist in UTC."""
    offset = value.utcoffset()
    if offset is None:
        return "needs a zone, e.g. +00:00"
    if abs(offset) > _MAX_OFFSET:
        return "has a time zone offset beyond ±14:00"
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        return "is out of range"
    return None


def _instant(value: dt.datetime) -> dt.datetime:
    problem = instant_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _zoned_instant(value: dt.datetime, info: pydantic.ValidationInfo) -> dt.datetime:
    """A time without a zone is read in the store's time zone (``time_zone`` in the validation
    context; UTC without one), as SPEC section 2 says."""
    if value.tzinfo is None or value.utcoffset() is None:
        zone = (info.context or {}).get("time_zone") if isinstance(info.context, dict) else None
        value = value.replace(tzinfo=zone if isinstance(zone, dt.tzinfo) else dt.UTC)
    return _instant(value)


def ident(value: Any) -> Any:
    """An id given as a JSON integer is the string of it (``10023`` -> ``"10023"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _number_text(value: Any) -> Any:
    """An amount given as a JSON number is kept exactly as its text (``10.5`` -> ``"10.5"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(Decimal(str(value)))
    return value


def _check_nested(value: Any, depth: int = 0) -> Any:
    """Reject NUL characters and absurd nesting anywhere inside free-form JSON. A string inside
    is checked here, without a call of its own (an address's ten fields were ten calls: 1,000,000
    calls in a first import of 100,000 orders). Containers are entered only down to depth 8."""
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, (dict, list)):
        if depth >= 8 and value:  # its items would be nested deeper than 8
            raise ValueError("is nested too deeply")
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if (isinstance(key, str) and "\x00" in key) or (isinstance(item, str) and "\x00" in item):
                raise ValueError(_NUL)
            elif isinstance(item, (dict, list)):
                _check_nested(item, depth + 1)
    return value


# Constraints before a BeforeValidator: pydantic-core checks them itself. After it, Pydantic
# checked them in Python per value, with a vaguer message ("Value should have at most 64 items
# after validation"): ~10 % of validating an order (issue 26, 2026-12-07).
Ident = Annotated[
    str, Field(min_length=1, max_length=64), pydantic.BeforeValidator(ident), AfterValidator(_single_line)
]
Line = Annotated[str, Field(max_length=500), AfterValidator(_single_line)]
Text = Annotated[str, Field(max_length=20_000), AfterValidator(_no_nul)]
Email = Annotated[str, AfterValidator(_email)]
Amount = Annotated[str, Field(pattern=_DECIMAL), pydantic.BeforeValidator(_number_text)]
FreeJson = Annotated[dict[str, Any], AfterValidator(_check_nested)]
Instant = Annotated[dt.datetime, AfterValidator(_zoned_instant)]  # zone-less: the store's time zone
AwareInstant = Annotated[AwareDatetime, AfterValidator(_instant)]  # a zone is required


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", str_max_length=1_000_000)


class CustomerIn(_Model):
    id: Ident
    email: Email
    first_name: Line = ""
    last_name: Line = ""
    language: Annotated[str, Field(pattern=r"^[a-z]{2}([-_][A-Za-z]{2})?$")] | None = None
    phone: Line | None = None
    newsletter_opt_in: bool | None = None  # None: the data says nothing of consent (keep what is known)
    newsletter_opt_in_at: Instant | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    created_at: Instant | None = None
    addresses: list[FreeJson] = Field(default_factory=list, max_length=50)


class Download(_Model):
    url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")]
    license_keys: list[Line] = Field(default_factory=list, max_length=100)
    instructions: Text | None = None


LINE_KINDS = ("physical", "download", "service")


class OrderLine(_Model):
    id: Ident
    sku: Line = ""
    name: Line
    quantity: Annotated[int, Field(ge=0, le=1_000_000)]
    unit_price: Amount = "0.00"
    delivered_quantity: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    backordered: bool = False
    expected_delivery_date: dt.date | None = None
    purchase_order_expected_date: dt.date | None = None
    download: Download | None = None

    @model_validator(mode="after")
    def _known_kind(self) -> OrderLine:
        # ``kind`` (SPEC 3) stays an extra field, so snapshots without it are stored unchanged
        kind = (self.model_extra or {}).get("kind")
        if kind is not None and kind not in LINE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LINE_KINDS)}")
        return self


class ShipmentLine(_Model):
    line_id: Ident
    quantity: Annotated[int, Field(ge=0, le=1_000_000)]


class Shipment(_Model):
    id: Ident
    carrier: Line | None = None
    tracking_number: Line | None = None
    tracking_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None
    shipped_at: Instant | None = None
    drop_shipper: Line | None = None
    lines: list[ShipmentLine] = Field(default_factory=list, max_length=1000)


class Refund(_Model):
    id: Ident
    amount: Amount
    created_at: Instant | None = None
    reason: Line | None = None


class Totals(_Model):
    subtotal: Amount = "0.00"
    shipping: Amount = "0.00"
    tax: Amount = "0.00"
    total: Amount = "0.00"


class OrderIn(_Model):
    id: Ident
    number: Annotated[Line, pydantic.BeforeValidator(ident)] = ""
    created_at: Instant
    updated_at: Instant
    status: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_single_line)]
    status_label: Line = ""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    customer: CustomerIn
    billing_address: FreeJson = Field(default_factory=dict)
    shipping_address: FreeJson = Field(default_factory=dict)
    totals: Totals = Field(default_factory=Totals)
    expected_delivery_date: dt.date | None = None
    delivery_note_printed: bool = False
    picked: bool = False
    lines: list[OrderLine] = Field(default_factory=list, max_length=1000)
    shipments: list[Shipment] = Field(default_factory=list, max_length=200)
    refunds: list[Refund] = Field(default_factory=list, max_length=200)

    @field_validator("lines")
    @classmethod
    def _unique_line_ids(cls, lines: list[OrderLine]) -> list[OrderLine]:
        seen = [line.id for line in lines]
        if len(set(seen)) != len(seen):
            raise ValueError("line ids must be unique within an order")
        return lines

    @field_validator("shipments")
    @classmethod
    def _unique_shipment_ids(cls, shipments: list[Shipment]) -> list[Shipment]:
        seen = [s.id for s in shipments]
        if len(set(seen)) != len(seen):
            raise ValueError("shipment ids must be unique within an order")
        return shipments


class ProductIn(_Model):
    sku: Ident
    name: Line = ""
    stock_quantity: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)] = 0
    download_instructions: Text | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict of a validated model (dates as ISO strings, extras kept)."""
    return model.model_dump(mode="json")
