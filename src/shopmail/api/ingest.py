"""Ingest endpoints: orders, sync, customers and products (SPEC section 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api import queries
from shopmail.api.base import body_schema, json_body, json_response, object_body
from shopmail.core.errors import Rejected
from shopmail.domain.snapshot import CustomerIn, OrderIn, ProductIn, ident
from shopmail.flows import ingest

router = Router(tags=["ingest"])
_FLAGS = ("dry_run", "silent", "partial")  # of a sync run


def _with_path_key(body: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    if field not in body:
        return {**body, field: value}
    if ident(body[field]) != value:  # an integer id is the string of it (SPEC 2)
        raise Rejected([{"loc": ["body", field], "msg": f"must match the {field} in the URL ({value!r})"}])
    return body


@contextmanager
def _errors_of_one() -> Iterator[None]:
    """Errors of a single-item run point into the request body, not into a batch."""
    try:
        yield
    except Rejected as exc:
        errors = [{"loc": ["body", *err["loc"][2:]], "msg": err["msg"]} for err in exc.errors if err]
        raise Rejected(errors) from None


@router.put(
    "/orders/{order_id}",
    openapi_extra=body_schema(OrderIn, "An order snapshot (SPEC section 3)."),
    summary="Upsert one order snapshot",
)
def put_order(request: HttpRequest, order_id: str) -> HttpResponse:
    body = _with_path_key(json_body(request), "id", order_id)
    with _errors_of_one():
        entry = ingest.ingest_order(order_id, body)
    return json_response(entry)


@router.get("/orders/{order_id}", summary="The stored order with its change history")
def get_order(request: HttpRequest, order_id: str) -> HttpResponse:
    data = queries.order_detail(order_id)
    if data is None:
        return json_response({"detail": "order not found"}, status=404)
    return json_response(data)


@router.post(
    "/sync",
    summary="One sync run (orders, products, customers)",
    openapi_extra=object_body(
        {
            **{kind: {"type": "array", "items": {"type": "object"}} for kind in ingest.KINDS},
            **{flag: {"type": "boolean", "default": False} for flag in _FLAGS},
        }
    ),
)
def sync(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    errors = []
    lists: dict[str, list[Any]] = {}
    for kind in ingest.KINDS:
        value = body.get(kind, [])
        if not isinstance(value, list):
            errors.append({"loc": ["body", kind], "msg": "must be a list"})
        lists[kind] = value if isinstance(value, list) else []
    flags: dict[str, bool] = {}
    for flag in _FLAGS:
        value = body.get(flag, False)
        if not isinstance(value, bool):
            errors.append({"loc": ["body", flag], "msg": "must be true or false"})
        flags[flag] = value is True
    unknown = sorted(set(body) - {*ingest.KINDS, *_FLAGS})
    errors.extend({"loc": ["body", name], "msg": "is not a sync field"} for name in unknown)
    if errors:
        raise Rejected(errors)
    try:
        result = ingest.ingest(
            orders=lists["orders"],
            products=lists["products"],
            customers=lists["customers"],
            dry_run=flags["dry_run"],
            silent=flags["silent"],
            partial=flags["partial"],
            source="api",
        )
    except Rejected as exc:
        raise Rejected([{**err, "loc": ["body", *err["loc"]]} for err in exc.errors]) from None
    return json_response(result.summary())


@router.put(
    "/customers/{customer_id}",
    openapi_extra=body_schema(CustomerIn, "A customer."),
    summary="Upsert a customer",
)
def put_customer(request: HttpRequest, customer_id: str) -> HttpResponse:
    body = _with_path_key(json_body(request), "id", customer_id)
    with _errors_of_one():
        ingest.ingest(customers=[body], source="api")
    return json_response(queries.customer_detail(customer_id))


@router.put("/products/{sku}", openapi_extra=body_schema(ProductIn, "A product."), summary="Upsert a product")
def put_product(request: HttpRequest, sku: str) -> HttpResponse:
    body = _with_path_key(json_body(request), "sku", sku)
    with _errors_of_one():
        result = ingest.ingest(products=[body], source="api")
    return json_response(
        {**queries.product_detail(sku), "messages": result.messages, "changes": result.summary()["changes"]}
    )
