"""Shop webhooks in (SPEC section 8): ``/api/v1/hooks/shopify`` and ``/api/v1/hooks/woocommerce``.

No API key: each is signed by the shop (HMAC-SHA256 of the raw body with the connector's
``webhook_secret``). The work is in :mod:`shopmail.connectors.inbound`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import json_response
from shopmail.connectors import inbound

router = Router(tags=["webhooks in"])

_SIGNED = {
    "description": "The raw body as the shop sends it; the signature is checked over these exact bytes.",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def _answer(result: inbound.Answer) -> HttpResponse:
    return json_response(result.body, status=result.status)


@router.post(
    "/hooks/shopify",
    auth=None,
    summary="A Shopify webhook (orders, fulfillments, refunds, customers, products)",
    description="Topic in `X-Shopify-Topic`, verified by `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of "
    "the raw body with `connectors.shopify.webhook_secret`); each `X-Shopify-Webhook-Id` is processed once. "
    "401 for a missing or wrong signature (nothing stored).",
    openapi_extra={"requestBody": _SIGNED},
)
def shopify_hook(request: HttpRequest) -> HttpResponse:
    return _answer(inbound.receive_shopify(request.headers, request.body))


@router.post(
    "/hooks/woocommerce",
    auth=None,
    summary="A WooCommerce webhook (orders, customers, products) or its creation ping",
    description="Topic in `X-WC-Webhook-Topic`, verified by `X-WC-Webhook-Signature` (base64 HMAC-SHA256 of "
    "the raw body with `connectors.woocommerce.webhook_secret`); each `X-WC-Webhook-Delivery-ID` is "
    "processed once. The unsigned creation ping (`webhook_id=N`) gets 200 and stores nothing. 401 for a "
    "missing or wrong signature (nothing stored).",
    openapi_extra={"requestBody": _SIGNED},
)
def woocommerce_hook(request: HttpRequest) -> HttpResponse:
    return _answer(inbound.receive_woocommerce(request.headers, request.body))
