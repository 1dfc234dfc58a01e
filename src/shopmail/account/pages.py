"""Rendering My page (and the public contact form): the signed-in customer in every page's
context, and headers that keep customer data out of caches and forbid any script."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from shopmail.account.auth import current_account
from shopmail.store.models import StoreSettings

# No page of My page runs a script or loads anything from elsewhere; styles are inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def harden(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    account = current_account(request)
    store = StoreSettings.load()
    full = {
        "account": account,
        "me": account.customer if account is not None else None,
        "store_name": store.company_name,
        "store_url": store.company_url,
        "brand": store.store_context(),  # logo_url, footer_text, brand_color (SPEC 4, branding)
        **(context or {}),
    }
    response = render(request, template, full, status=status)
    logo = urlsplit(str(full["brand"].get("logo_url") or ""))
    if logo.scheme in ("http", "https") and logo.netloc:  # the branding logo may live elsewhere
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {logo.scheme}://{logo.netloc}"
        )
    return harden(response)
