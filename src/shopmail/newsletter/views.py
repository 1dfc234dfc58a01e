"""``/unsubscribe/<token>`` (SPEC section 7): GET shows a confirm page, POST unsubscribes.

The signed token is the authentication: no login, no cookies, no CSRF token (RFC 8058 one-click
POSTs come from mail providers' servers). A forged or altered token is refused with 400; a GET
never changes anything; a repeated POST answers 200 and changes nothing more.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from shopmail.account import language
from shopmail.newsletter import consent
from shopmail.newsletter.models import ConsentSource
from shopmail.store.models import Customer, StoreSettings


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * min(max(len(local) - 1, 1), 6)}@{domain}" if domain else email


def _page(request: HttpRequest, name: str, context: dict[str, object], status: int = 200) -> HttpResponse:
    settings = StoreSettings.load()
    response = render(
        request,
        f"newsletter/{name}.html",
        {
            "company_name": settings.company_name,
            "company_url": settings.company_url,
            "brand": settings.store_context(),
            **context,
        },
        status=status,
    )
    add_never_cache_headers(response)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@csrf_exempt  # the token authenticates; one-click POSTs carry no cookies (RFC 8058)
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    target = consent.parse(token)
    if target is None:
        return _page(request, "unsubscribe_invalid", {}, status=400)
    customer = None if target.is_test else Customer.objects.filter(pk=target.customer_id).first()
    language.use_customer(request, customer)
    if request.method != "POST":
        return _page(
            request,
            "unsubscribe_confirm",
            {
                "test": target.is_test,
                "email": _masked(customer.email) if customer else "",
                "subscribed": bool(customer and customer.newsletter_opt_in),
            },
        )
    changed = False
    if customer is not None:
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        changed = consent.unsubscribe(
            customer,
            source=ConsentSource.ONE_CLICK if one_click else ConsentSource.UNSUBSCRIBE_LINK,
            newsletter_id=target.newsletter_id,
        )
    return _page(
        request,
        "unsubscribe_done",
        {"test": target.is_test, "changed": changed, "email": _masked(customer.email) if customer else ""},
    )
