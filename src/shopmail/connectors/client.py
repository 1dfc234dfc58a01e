"""The shops' REST APIs, page by page (httpx; no Django).

WooCommerce: ``GET /wp-json/wc/v3/orders?modified_after=…&dates_are_gmt=true&per_page=100&page=N``,
following ``X-WP-TotalPages``; the consumer key and secret by HTTP Basic over https, as
``consumer_key``/``consumer_secret`` query parameters over plain http (as WooCommerce documents).
Shopify: ``GET /admin/api/<version>/orders.json?status=any&updated_at_min=…&limit=250`` with
``X-Shopify-Access-Token``, following the ``Link: <…>; rel="next"`` header (``page_info``).

A page that fails with a network error, 429 or 5xx is asked again (``retries`` times, with a
growing pause); any other answer stops the pull with a :class:`PullError` that names what the
shop said.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

SHOPIFY_API_VERSION = "2025-07"
WOO_PER_PAGE = 100
SHOPIFY_LIMIT = 250
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
Sleep = Callable[[float], None]


class PullError(Exception):
    """The pull stopped; the message says why, in the shop's own words where it gave any."""


@dataclass
class Page:
    number: int
    items: list[dict[str, Any]]
    total_pages: int | None  # None when the shop does not say


def _shop_words(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text and not text.startswith("<") else ""
    if isinstance(body, dict):
        if "message" in body:  # WordPress / WooCommerce: {"code", "message", "data": {"status"}}
            code = f" ({body['code']})" if body.get("code") else ""
            return f"{body['message']}{code}"
        errors = body.get("errors") or body.get("error")  # Shopify: {"errors": "..."} or a dict
        if errors:
            return errors if isinstance(errors, str) else str(errors)
    return ""


def describe(shop: str, response: httpx.Response) -> str:
    words = _shop_words(response)
    said = f"{shop} answered {response.status_code} {response.reason_phrase}"
    return f"{said}: {words}" if words else said


def get(
    client: httpx.Client,
    shop: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
    retries: int = 3,
    pause: float = 0.5,
    sleep: Sleep = time.sleep,
) -> httpx.Response:
    """One GET, asked again after a network error, 429 or 5xx; a clear PullError otherwise."""
    for attempt in range(retries + 1):
        last = attempt == retries
        try:
            response = client.get(url, params=params, headers=headers, auth=auth)
        except httpx.TransportError as exc:
            if last:
                raise PullError(f"{shop} could not be reached: {exc}") from None
            sleep(pause * 2**attempt)
            continue
        if response.status_code == 429 or response.status_code >= 500:
            if last:
                raise PullError(describe(shop, response) + f" (asked {retries + 1} times)")
            wait = response.headers.get("Retry-After", "")
            sleep(float(wait) if wait.replace(".", "", 1).isdigit() else pause * 2**attempt)
            continue
        if response.status_code in (401, 403):
            raise PullError(describe(shop, response) + ": check the credentials in connectors settings")
        if response.status_code != 200:
            raise PullError(describe(shop, response))
        return response
    raise AssertionError("unreachable")


def _json(shop: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PullError(f"{shop} answered 200 but not with JSON (is {response.url} the REST API?)") from None


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


class WooCommerce:
    def __init__(self, url: str, key: str, secret: str, client: httpx.Client, **retry: Any):
        self.base = url.rstrip("/")
        self.client = client
        self.retry = retry
        self.https = self.base.startswith("https://")
        self.auth = httpx.BasicAuth(key, secret) if self.https else None
        self.key_params = {} if self.https else {"consumer_key": key, "consumer_secret": secret}

    def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        return get(
            self.client,
            "WooCommerce",
            f"{self.base}/wp-json/wc/v3{path}",
            params={**params, **self.key_params},
            auth=self.auth,
            **self.retry,
        )

    def order_pages(self, since: dt.datetime) -> Iterator[Page]:
        page = 1
        while True:
            params = {"modified_after": _iso(since), "dates_are_gmt": "true", "per_page": WOO_PER_PAGE}
            response = self._get("/orders", {**params, "page": page})
            items = _json("WooCommerce", response)
            if not isinstance(items, list):
                raise PullError(f"WooCommerce answered page {page} with {type(items).__name__}, not a list")
            total = response.headers.get("X-WP-TotalPages")
            total_pages = int(total) if total and total.isdigit() else None
            yield Page(page, items, total_pages)
            if not items or total_pages is None or page >= total_pages:
                return
            page += 1

    def downloads(self, customer_id: str) -> list[dict[str, Any]]:
        items = _json("WooCommerce", self._get(f"/customers/{customer_id}/downloads", {}))
        return items if isinstance(items, list) else []


class Shopify:
    def __init__(self, shop_url: str, token: str, client: httpx.Client, version: str = "", **retry: Any):
        version = version or SHOPIFY_API_VERSION
        self.base = f"{shop_url.rstrip('/')}/admin/api/{version}"
        self.headers = {"X-Shopify-Access-Token": token}
        self.client = client
        self.retry = retry

    def _get(self, url: str, params: dict[str, Any] | None) -> httpx.Response:
        return get(self.client, "Shopify", url, params=params, headers=self.headers, **self.retry)

    def count(self, since: dt.datetime) -> int | None:
        filters = {"status": "any", "updated_at_min": _iso(since)}
        response = self._get(f"{self.base}/orders/count.json", filters)
        body = _json("Shopify", response)
        return body.get("count") if isinstance(body, dict) and isinstance(body.get("count"), int) else None

    def order_pages(self, since: dt.datetime) -> Iterator[Page]:
        count = self.count(since)
        total_pages = max(1, math.ceil(count / SHOPIFY_LIMIT)) if count is not None else None
        url: str | None = f"{self.base}/orders.json"
        first = {"status": "any", "updated_at_min": _iso(since), "limit": str(SHOPIFY_LIMIT)}
        params: dict[str, Any] | None = first
        number = 1
        while url:
            response = self._get(url, params)
            body = _json("Shopify", response)
            items = body.get("orders") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise PullError(f"Shopify answered page {number} without an 'orders' list")
            yield Page(number, items, total_pages)
            match = _NEXT.search(response.headers.get("Link", ""))
            url, params = (match.group(1), None) if match else (None, None)  # page_info carries the filters
            number += 1
