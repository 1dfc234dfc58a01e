"""Webhooks in (SPEC section 8): signature check, de-duplication by delivery id, topic routing,
and the mapped snapshot ingested exactly as ``PUT /api/v1/orders/{id}`` ingests one.

A wrong or missing signature changes nothing and is only counted (``/metrics``). A fulfillment or
refund webhook carries no whole order: it is applied to the stored snapshot of its order (under a
row lock) and that snapshot goes through ingest like any other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from shopmail.connectors import client, shopify, woocommerce
from shopmail.connectors.common import ident
from shopmail.connectors.config import secret
from shopmail.connectors.models import Connector, WebhookCount, WebhookDelivery
from shopmail.core.errors import Rejected
from shopmail.flows import ingest
from shopmail.store.models import Order

log = logging.getLogger(__name__)
_PING = re.compile(rb"^webhook_id=\d{1,20}$")


Downloads = list[dict[str, Any]] | None


@dataclass
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Work:
    """What one webhook asks for: snapshots to ingest, or the reason it asks for nothing."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    ignored: str = ""


def count(platform: str, outcome: str) -> None:
    """One more webhook of this outcome (a row per platform and outcome; never lost to a race)."""
    if WebhookCount.objects.filter(platform=platform, outcome=outcome).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            WebhookCount.objects.create(platform=platform, outcome=outcome, count=1)
    except IntegrityError:
        WebhookCount.objects.filter(platform=platform, outcome=outcome).update(count=F("count") + 1)


def signature_ok(secret: str, body: bytes, given: str | None) -> bool:
    """``given`` is the base64 HMAC-SHA256 of the raw body with ``secret`` (Shopify, WooCommerce)."""
    if not secret or not given:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def _stored(order_id: str) -> dict[str, Any] | None:
    query = Order.objects.filter(external_id=order_id)
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    order = query.only("snapshot").first()
    return dict(order.snapshot) if order is not None else None


def shopify_work(topic: str, body: Mapping[str, Any]) -> Work:
    resource, _, event = topic.partition("/")
    if resource == "orders" and event != "delete":
        return Work(orders=[shopify.order(body)])
    if resource in ("fulfillments", "refunds"):
        order_id = ident(body.get("order_id"))
        stored = _stored(order_id)
        if stored is None:
            return Work(ignored=f"order {order_id} is not known yet (its orders/create webhook brings it)")
        merge = shopify.apply_fulfillment if resource == "fulfillments" else shopify.apply_refund
        return Work(orders=[merge(stored, body)])
    if resource == "customers" and event in ("create", "update", "enable"):
        return Work(customers=[shopify.customer(body)])
    if resource == "products" and event in ("create", "update"):
        return Work(products=shopify.products(body))
    return Work(ignored=f"topic {topic!r} needs nothing from shopmail")


def woocommerce_work(topic: str, body: Mapping[str, Any], downloads: Downloads = None) -> Work:
    resource, _, event = topic.partition(".")
    if resource == "order" and event in ("created", "updated", "restored"):
        return Work(orders=[woocommerce.order(body, downloads or ())])
    if resource == "customer" and event in ("created", "updated"):
        return Work(customers=[woocommerce.customer(body)])
    if resource == "product" and event in ("created", "updated", "restored"):
        product = woocommerce.product(body)
        return Work(products=[product] if product else [], ignored="" if product else "a product without SKU")
    return Work(ignored=f"topic {topic!r} needs nothing from shopmail")


def _process(
    platform: str, delivery_id: str, topic: str, body: Any, route: Callable[[str, Mapping[str, Any]], Work]
) -> Answer:
    if not isinstance(body, Mapping):
        count(platform, "rejected")
        return Answer(422, {"detail": [{"loc": ["body"], "msg": "must be a JSON object"}]})
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    delivery = WebhookDelivery.objects.create(
                        platform=platform, delivery_id=delivery_id[:200], topic=topic[:100]
                    )
            except IntegrityError:
                count(platform, "duplicate")
                return Answer(200, {"duplicate": True, "delivery": delivery_id})
            work = route(topic, body)
            if not (work.orders or work.customers or work.products):
                delivery.outcome = "ignored"
                delivery.save(update_fields=["outcome"])
                count(platform, "ignored")
                return Answer(200, {"ignored": work.ignored or "nothing to do"})
            result = ingest.ingest(
                orders=work.orders,
                customers=work.customers,
                products=work.products,
                source=f"{platform}-webhook",
            )
            delivery.outcome = "accepted"
            delivery.save(update_fields=["outcome"])
    except Rejected as exc:
        count(platform, "rejected")
        log.warning("%s webhook %s (%s) refused: %s", platform, delivery_id, topic, exc.errors[:5])
        return Answer(422, {"detail": [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]})
    count(platform, "accepted")
    summary = result.summary()
    return Answer(
        200,
        {
            "run": summary["run"],
            "counts": summary["counts"],
            "orders": list(result.orders.values()),
            "messages": result.messages,
        },
    )


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        return None


def _secret(platform: str) -> str:
    return secret(Connector.load(platform), "webhook_secret")


def receive_shopify(headers: Mapping[str, str], body: bytes) -> Answer:
    if not signature_ok(_secret("shopify"), body, headers.get("X-Shopify-Hmac-Sha256")):
        count("shopify", "unauthorized")
        return Answer(401, {"detail": "missing or wrong X-Shopify-Hmac-Sha256 signature"})
    topic = headers.get("X-Shopify-Topic", "")
    delivery_id = (
        headers.get("X-Shopify-Webhook-Id")
        or headers.get("X-Shopify-Event-Id")
        or hashlib.blake2b(body, digest_size=16).hexdigest()
    )
    return _process("shopify", delivery_id, topic, _parse(body), shopify_work)


def receive_woocommerce(headers: Mapping[str, str], body: bytes) -> Answer:
    signature = headers.get("X-WC-Webhook-Signature")
    if not signature and _PING.match(body.strip()):
        # WooCommerce's creation ping: a form body "webhook_id=N", unsigned. 200, nothing stored.
        count("woocommerce", "ping")
        return Answer(200, {"ping": True})
    if not signature_ok(_secret("woocommerce"), body, signature):
        count("woocommerce", "unauthorized")
        return Answer(401, {"detail": "missing or wrong X-WC-Webhook-Signature signature"})
    topic = headers.get("X-WC-Webhook-Topic", "")
    delivery_id = headers.get("X-WC-Webhook-Delivery-ID") or (
        headers.get("X-WC-Webhook-ID", "") + ":" + hashlib.blake2b(body, digest_size=16).hexdigest()
    )
    payload = _parse(body)
    if WebhookDelivery.objects.filter(platform="woocommerce", delivery_id=delivery_id[:200]).exists():
        downloads: list[dict[str, Any]] = []  # a repeat: answered as one below, nothing asked
    else:
        downloads = _woo_downloads(topic, payload)
    return _process(
        "woocommerce", delivery_id, topic, payload, lambda t, b: woocommerce_work(t, b, downloads)
    )


def _woo_downloads(topic: str, body: Any) -> list[dict[str, Any]]:
    """The registered customer's downloads, asked from the shop's REST API when its credentials
    are set: a webhook body carries no download links. Nothing when the shop does not answer
    at once (the order is taken all the same; a pull brings the links)."""
    if not topic.startswith("order.") or not isinstance(body, Mapping):
        return []
    customer_id = ident(body.get("customer_id"))
    connector = Connector.load("woocommerce")
    url, key = connector.setting("url"), connector.setting("consumer_key")
    key_secret = secret(connector, "consumer_secret")
    if customer_id in ("", "0") or not (url and key and key_secret):
        return []
    try:
        with httpx.Client(timeout=5.0) as http:
            return client.WooCommerce(url, key, key_secret, http, retries=0).downloads(customer_id)
    except client.PullError as exc:
        log.warning("downloads of WooCommerce customer %s not fetched: %s", customer_id, exc)
        return []


def metrics() -> list[str]:
    """``/metrics`` lines: webhooks in by platform and outcome."""
    lines = [
        "# HELP shopmail_webhooks_in_total Shop webhooks received, by platform and outcome "
        "(unauthorized: missing or wrong signature, nothing stored).",
        "# TYPE shopmail_webhooks_in_total counter",
    ]
    counts = {(c.platform, c.outcome): c.count for c in WebhookCount.objects.all()}
    for platform in ("shopify", "woocommerce"):
        for outcome in ("accepted", "duplicate", "ignored", "ping", "rejected", "unauthorized"):
            if platform == "shopify" and outcome == "ping":
                continue
            value = counts.get((platform, outcome), 0)
            lines.append(f'shopmail_webhooks_in_total{{platform="{platform}",outcome="{outcome}"}} {value}')
    return lines
