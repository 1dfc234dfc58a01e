"""``POST /api/v1/orders/{id}/actions``: what staff do in the panel, by API (SPEC sections 2, 7)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import body_schema, json_body, json_response
from shopmail.flows import actions
from shopmail.store.models import Order

router = Router(tags=["orders"])


def _actor(request: HttpRequest) -> str:
    key: Any = getattr(request, "auth", None)
    name = getattr(key, "name", "") or ""
    return f"api key {name}".strip()


@router.post(
    "/orders/{order_id}/actions",
    summary="An order action: confirm, cancel (with a reason), ship, expected delivery date",
    openapi_extra=body_schema(
        actions.ActionIn,
        'One of {"action": "confirm"}, {"action": "cancel", "reason"?}, {"action": "ship", "shipment": '
        '{"lines"?: [{"line_id", "quantity"}], "carrier"?, "tracking_number"?, "tracking_url"?, '
        '"shipped_at"?, "drop_shipper"?}}, {"action": "expected_date", "line"?, "date"}. With '
        '"preview": true nothing is changed and the e-mails it would send are shown.',
    ),
)
def order_action(request: HttpRequest, order_id: str) -> HttpResponse:
    body = json_body(request)
    try:
        answer = actions.run(order_id, body, _actor(request))
    except Order.DoesNotExist:
        return json_response({"detail": "order not found"}, status=404)
    return json_response(answer)
