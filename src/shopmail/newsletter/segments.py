"""Segments: which opted-in customers a newsletter goes to (SPEC section 2).

A segment is a dict of filters, all optional and combined with AND:

``language``, ``country``
    one code or a list (any of them). A customer without a language of their own gets mail in
    the store's default language, so filtering on that language includes them too.
``registered_after``, ``registered_before``
    a date (``2026-01-01``, midnight UTC) or a date-time with a zone; *after* includes the
    moment itself, *before* does not.
``ordered_sku``
    one SKU or a list: the customer has an order with a line of (any of) them.
``min_orders``, ``min_total_spent``
    at least this many orders / this much spent in all (the sum of the orders' ``totals.total``).
``last_order_after``, ``last_order_before``
    the customer's newest order is at/after, or before, this moment (no orders: no match).

Cancelled orders count for none of the order filters. Only customers who opted in and have not
unsubscribed since are ever included, whatever the filters say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Annotated, Any

from django.db import models
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Round
from django.utils.translation import gettext, pgettext
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shopmail.newsletter.models import Consent
from shopmail.store.models import Customer, Order

FILTERS = (
    "language",
    "country",
    "registered_after",
    "registered_before",
    "ordered_sku",
    "min_orders",
    "min_total_spent",
    "last_order_after",
    "last_order_before",
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SegmentError(ValueError):
    """Bad filters; ``errors`` name each one as ``{"loc": [...], "msg": ...}``."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


# --------------------------------------------------------------------------- validation


def _listed(value: Any) -> Any:
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    return value or None


def _moment_text(value: Any) -> str:
    """A date or an aware date-time, normalised to its ISO form."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a date-time needs a zone, e.g. 2026-01-01T00:00:00+00:00")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError("must be a date (YYYY-MM-DD) or a date-time with a zone")
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD) or a date-time with a zone") from None
    if moment.tzinfo is None:
        raise ValueError("a date-time needs a zone, e.g. 2026-01-01T00:00:00+00:00")
    return moment.isoformat()


def _amount(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a decimal string such as 100.00")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal string such as 100.00") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
        raise ValueError("must be a non-negative amount")
    return str(amount)


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Language = Annotated[str, BeforeValidator(_lower), Field(pattern=r"^[a-z]{2}$")]
Country = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{2}$")]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Moment = Annotated[str | dt.date, AfterValidator(_moment_text)]
_Moment = Annotated[Moment | None, BeforeValidator(_empty_to_none)]


Languages = Annotated[Annotated[list[Language], Field(max_length=50)] | None, BeforeValidator(_listed)]
Countries = Annotated[Annotated[list[Country], Field(max_length=300)] | None, BeforeValidator(_listed)]
Skus = Annotated[Annotated[list[Sku], Field(max_length=500)] | None, BeforeValidator(_listed)]


class SegmentFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    language: Languages = None
    country: Countries = None
    registered_after: _Moment = None
    registered_before: _Moment = None
    ordered_sku: Skus = None
    min_orders: Annotated[
        Annotated[int, Field(ge=0, le=1_000_000)] | None, BeforeValidator(_empty_to_none)
    ] = None
    min_total_spent: Annotated[
        str | None, BeforeValidator(lambda v: None if v in ("", None) else _amount(v))
    ] = None
    last_order_after: _Moment = None
    last_order_before: _Moment = None


def clean(raw: Any, loc: Sequence[Any] = ("segment",)) -> dict[str, Any]:
    """Validated, normalised filters (only those given), or ``SegmentError`` naming every bad one."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SegmentError([{"loc": list(loc), "msg": "must be an object of filters"}])
    try:
        filters = SegmentFilters.model_validate(raw)
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            msg = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                msg = f"is not a filter (use {', '.join(FILTERS)})"
            errors.append({"loc": [*loc, *error["loc"]], "msg": msg})
        raise SegmentError(errors) from None
    return filters.model_dump(exclude_none=True, mode="json")


# --------------------------------------------------------------------------- the query


def _moment(text: str) -> dt.datetime:
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(text)


class _LinesHaveSku(models.Expression):
    """True when the snapshot's ``lines`` contain a line whose ``sku`` is one of ``skus``."""

    output_field = models.BooleanField()
    conditional = True

    def __init__(self, snapshot: Any, skus: Sequence[str]):
        super().__init__()
        self.snapshot = snapshot
        self.skus = list(skus)

    def get_source_expressions(self) -> list[Any]:
        return [self.snapshot]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.snapshot,) = exprs

    def _marks(self) -> str:
        return ", ".join(["%s"] * len(self.skus))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.snapshot)
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({column}, '$.lines') AS sm_line"
            f" WHERE json_extract(sm_line.value, '$.sku') IN ({self._marks()}))"
        )
        return sql, (*params, *self.skus)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.snapshot)
        lines = f"{column} -> 'lines'"
        sql = (
            "EXISTS (SELECT 1 FROM jsonb_array_elements("
            f"CASE WHEN jsonb_typeof({lines}) = 'array' THEN {lines} ELSE '[]'::jsonb END) AS sm_line"
            f" WHERE sm_line ->> 'sku' IN ({self._marks()}))"
        )
        return sql, (*params, *params, *self.skus)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        raise NotImplementedError(f"ordered_sku is not supported on {connection.vendor}")


def _order_total_cents() -> Any:
    total = KeyTextTransform("total", KeyTextTransform("totals", "snapshot"))
    return Cast(Round(Cast(total, models.FloatField()) * 100), models.BigIntegerField())


def opted_in() -> QuerySet[Customer]:
    """Customers who opted in and have not unsubscribed since (whatever the shop's data says)."""
    since = Coalesce(OuterRef("newsletter_opt_in_at"), Value(_EPOCH))
    opted_out = Consent.objects.filter(customer=OuterRef("pk"), subscribed=False, at__gte=since)
    return Customer.objects.filter(newsletter_opt_in=True).exclude(email="").exclude(Exists(opted_out))


def queryset(filters: dict[str, Any], default_language: str = "en") -> QuerySet[Customer]:
    """The customers of a segment (``filters`` as returned by ``clean``)."""
    customers = opted_in()
    if languages := filters.get("language"):
        match = Q()
        for code in languages:
            match |= Q(language__iexact=code) | Q(language__istartswith=f"{code}-")
            match |= Q(language__istartswith=f"{code}_")
        if default_language in languages:
            match |= Q(language="")
        customers = customers.filter(match)
    if countries := filters.get("country"):
        customers = customers.filter(country__in=countries)
    if after := filters.get("registered_after"):
        customers = customers.filter(registered_at__gte=_moment(after))
    if before := filters.get("registered_before"):
        customers = customers.filter(registered_at__lt=_moment(before))

    orders = Order.objects.filter(customer=OuterRef("pk")).exclude(status="cancelled")
    if skus := filters.get("ordered_sku"):
        customers = customers.filter(Exists(orders.filter(_LinesHaveSku(F("snapshot"), skus))))
    per_customer = orders.order_by().values("customer")
    if filters.get("min_orders"):
        count = per_customer.annotate(n=Count("pk")).values("n")
        customers = customers.alias(sm_orders=Subquery(count)).filter(sm_orders__gte=filters["min_orders"])
    if filters.get("min_total_spent") not in (None, "0"):
        cents = int((Decimal(filters["min_total_spent"]) * 100).to_integral_value(ROUND_CEILING))
        spent = per_customer.annotate(c=Sum(_order_total_cents())).values("c")
        customers = customers.alias(sm_spent=Subquery(spent)).filter(sm_spent__gte=cents)
    last_after, last_before = filters.get("last_order_after"), filters.get("last_order_before")
    if last_after or last_before:
        newest = per_customer.annotate(m=Max("created_at")).values("m")
        customers = customers.alias(sm_last=Subquery(newest))
        if last_after:
            customers = customers.filter(sm_last__gte=_moment(last_after))
        if last_before:
            customers = customers.filter(sm_last__lt=_moment(last_before))
    return customers


def count(filters: dict[str, Any], default_language: str = "en") -> int:
    return queryset(filters, default_language).count()


def describe(filters: dict[str, Any]) -> list[str]:
    """The filters in words, for the panel."""
    words = {
        "language": gettext("language is %(value)s"),
        "country": gettext("country is %(value)s"),
        "registered_after": gettext("registered on/after %(value)s"),
        "registered_before": gettext("registered before %(value)s"),
        "ordered_sku": gettext("ordered %(value)s"),
        "min_orders": gettext("at least %(value)s orders"),
        "min_total_spent": gettext("spent at least %(value)s"),
        "last_order_after": gettext("last order on/after %(value)s"),
        "last_order_before": gettext("last order before %(value)s"),
    }
    either = pgettext("between alternatives: one or the other", "or")
    alternatives = f" {either} "
    result = []
    for name in FILTERS:
        value = filters.get(name)
        if value in (None, [], ""):
            continue
        shown = alternatives.join(map(str, value)) if isinstance(value, list) else str(value)
        result.append(words[name] % {"value": shown})
    return result or [gettext("every opted-in customer")]
