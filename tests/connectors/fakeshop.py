"""A local HTTP server that answers like the shops' REST APIs, serving pages of the published
payloads (tests/fixtures) the way the real APIs page them: WooCommerce with ``page``/``per_page``
and the ``X-WP-Total``/``X-WP-TotalPages`` headers, Shopify with ``limit`` and a
``Link: <…page_info=…>; rel="next"`` header. The server's page size is 1, as if the shop capped
``per_page``/``limit``, so a few published orders make several pages.

Error bodies are the shops' own: WooCommerce's REST authentication error for a wrong consumer key
(``WC_REST_Authentication``: code ``woocommerce_rest_authentication_error``, "Consumer key is
invalid."), Shopify's 401 for a wrong access token.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

WOO_KEY, WOO_SECRET = "ck_0123456789abcdef", "cs_fedcba9876543210"
SHOPIFY_TOKEN = "shpat_0123456789abcdef"
VERSION = "2025-07"


class FakeShop:
    def __init__(
        self,
        woo_orders: list[dict[str, Any]],
        shopify_orders: list[dict[str, Any]],
        downloads: dict[str, Any],
    ):
        self.woo_orders = woo_orders
        self.shopify_orders = shopify_orders
        self.downloads = downloads
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.fail: dict[str, int] = {}  # "woo:2" -> answer that page with 503 this many more times
        self.fail_status = 503
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                shop.requests.append((parts.path, query, dict(self.headers)))
                status, headers, body = shop.answer(parts.path, query, dict(self.headers))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeShop:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _failing(self, key: str) -> bool:
        if self.fail.get(key, 0) > 0:
            self.fail[key] -= 1
            return True
        return False

    def answer(self, path: str, q: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict, Any]:
        if path.startswith("/wp-json/wc/v3/"):
            return self.woocommerce(path.removeprefix("/wp-json/wc/v3"), q)
        if path.startswith(f"/admin/api/{VERSION}/"):
            return self.shopify(path.removeprefix(f"/admin/api/{VERSION}"), q, headers)
        return (
            404,
            {},
            {
                "code": "rest_no_route",
                "message": "No route was found matching the URL and request method",
                "data": {"status": 404},
            },
        )

    # -- WooCommerce ---------------------------------------------------------------------------

    def woocommerce(self, path: str, q: dict[str, list[str]]) -> tuple[int, dict, Any]:
        if q.get("consumer_key") != [WOO_KEY] or q.get("consumer_secret") != [WOO_SECRET]:
            return (
                401,
                {},
                {
                    "code": "woocommerce_rest_authentication_error",
                    "message": "Consumer key is invalid.",
                    "data": {"status": 401},
                },
            )
        if path.startswith("/customers/") and path.endswith("/downloads"):
            return 200, {}, self.downloads.get(path.split("/")[2], [])
        after = dt.datetime.fromisoformat(q["modified_after"][0]) if "modified_after" in q else None
        orders = [
            o
            for o in self.woo_orders
            if after is None or dt.datetime.fromisoformat(o["date_modified_gmt"] + "+00:00") > after
        ]
        page = int(q.get("page", ["1"])[0])
        size = min(int(q.get("per_page", ["10"])[0]), 1)
        total_pages = max(1, -(-len(orders) // size))
        if self._failing(f"woo:{page}"):
            return (
                self.fail_status,
                {},
                {
                    "code": "internal_server_error",
                    "message": "Service Unavailable",
                    "data": {"status": self.fail_status},
                },
            )
        chunk = orders[(page - 1) * size : page * size]
        return 200, {"X-WP-Total": str(len(orders)), "X-WP-TotalPages": str(total_pages)}, chunk

    # -- Shopify -------------------------------------------------------------------------------

    def shopify(self, path: str, q: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict, Any]:
        token = {k.lower(): v for k, v in headers.items()}.get("x-shopify-access-token")
        if token != SHOPIFY_TOKEN:
            return (
                401,
                {},
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        if "page_info" in q:
            page_info = json.loads(q["page_info"][0])
            since, index = page_info["since"], page_info["index"]
        else:
            since, index = q.get("updated_at_min", [None])[0], 0
        after = dt.datetime.fromisoformat(since) if since else None
        orders = [
            o
            for o in self.shopify_orders
            if after is None or dt.datetime.fromisoformat(o["updated_at"]) >= after
        ]
        if path == "/orders/count.json":
            return 200, {}, {"count": len(orders)}
        if self._failing(f"shopify:{index}"):
            return self.fail_status, {}, {"errors": "Internal Server Error"}
        size = min(int(q.get("limit", ["50"])[0]), 1)
        headers_out = {}
        if index + size < len(orders):
            page_info = json.dumps({"since": since, "index": index + size})
            query = urlencode({"limit": size, "page_info": page_info})
            link = f"{self.url}/admin/api/{VERSION}/orders.json?{query}"
            headers_out["Link"] = f'<{link}>; rel="next"'
        return 200, headers_out, {"orders": orders[index : index + size]}
