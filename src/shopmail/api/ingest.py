"""Ingest endpoints: orders, sync, customers and products (SPEC section 2)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api import queries
from shopmail.api.base import body_schema, json_body, json_response
from shopmail.core.errors import Rejected
from shopmail.domain.snapshot import CustomerIn, OrderIn, ProductIn, ident
from shopmail.flows import ingest

router = Router(tags=["ingest"])


def _with_path_key(body: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    if field not in body:
        return {**body, field: value}
    if ident(body[field]) != value:  # an integer id is the string of it (SPEC 2)
        raise Rejected([{"loc": ["body", field], "msg": f"must match the {field} in the URL ({value!r})"}])
    return body


def _prefix_errors(exc: Rejected, kind: str) -> Rejected:
    """Errors of a single-item run point into the request body, not into a batch."""
    return Rejected(
        [{"loc": ["body", *err["loc"][2:]], "msg": err["msg"]} for err in exc.errors if err] or []
    )


@router.put(
    "/orders/{order_id}",
    openapi_extra=body_schema(OrderIn, "An order snapshot (SPEC section 3)."),
    summary="Upsert one order snapshot",
)
def put_order(request: HttpRequest, order_id: str) -> HttpResponse:
    body = _with_path_key(json_body(request), "id", order_id)
    try:
        result = ingest.ingest(orders=[body], source="api")
    except Rejected as exc:
        raise _prefix_errors(exc, "orders") from None
    entry = result.orders.get(order_id) or {"order": order_id, "stale": False, "changes": [], "messages": []}
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
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "orders": {"type": "array", "items": {"type": "object"}},
                            "products": {"type": "array", "items": {"type": "object"}},
                            "customers": {"type": "array", "items": {"type": "object"}},
                            "dry_run": {"type": "boolean", "default": False},
                            "silent": {"type": "boolean", "default": False},
                            "partial": {"type": "boolean", "default": False},
                        },
                    }
                }
            },
        }
    },
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
    for flag in ("dry_run", "silent", "partial"):
        value = body.get(flag, False)
        if not isinstance(value, bool):
            errors.append({"loc": ["body", flag], "msg": "must be true or false"})
        flags[flag] = value is True
    unknown = sorted(set(body) - {*ingest.KINDS, "dry_run", "silent", "partial"})
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
    try:
        ingest.ingest(customers=[body], source="api")
    except Rejected as exc:
        raise _prefix_errors(exc, "customers") from None
    return json_response(queries.customer_detail(customer_id))


@router.put("/products/{sku}", openapi_extra=body_schema(ProductIn, "A product."), summary="Upsert a product")
def put_product(request: HttpRequest, sku: str) -> HttpResponse:
    body = _with_path_key(json_body(request), "sku", sku)
    try:
        result = ingest.ingest(products=[body], source="api")
    except Rejected as exc:
        raise _prefix_errors(exc, "products") from None
    return json_response(
        {**queries.product_detail(sku), "messages": result.messages, "changes": result.summary()["changes"]}
    )
