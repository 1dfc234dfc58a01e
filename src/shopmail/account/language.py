"""The language of the pages a customer sees (SPEC 7: My page, the signed order page, the
back-order choice, unsubscribe, contact, sign-in and reset are in the customer's language).

``CustomerLanguageMiddleware`` picks it for every customer page: the signed-in customer's own
language, else ``?lang=`` (kept in the session), else the browser's Accept-Language, else the
store's default language, else English. A page reached from a link in an e-mail (the signed
order page, the back-order choice, unsubscribe, reset) knows its customer and calls
``use_customer``. The sentences are in Django's gettext catalogs under
``shopmail/locale/<lang>/LC_MESSAGES/django.po`` (see docs/translations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

SESSION_KEY = "shopmail_language"
CUSTOMER_PATHS = ("/account/", "/contact/", "/unsubscribe/")


def supported() -> tuple[str, ...]:
    return tuple(code for code, _ in django_settings.LANGUAGES)


def pick(tag: Any) -> str | None:
    """A supported page language for a BCP 47 tag (``nb-NO`` -> ``nb``), or None."""
    code = str(tag or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in supported() else None


def _store_default() -> str:
    from shopmail.store.models import StoreSettings

    return pick(StoreSettings.load().default_language) or "en"


def for_request(request: HttpRequest) -> str:
    from shopmail.account.auth import current_account

    asked = pick(request.GET.get("lang"))
    if asked:
        request.session[SESSION_KEY] = asked
        return asked
    account = current_account(request)
    if account is not None:
        own = pick(account.customer.language)
        if own:
            return own
    kept = pick(request.session.get(SESSION_KEY))
    if kept:
        return kept
    for tag, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        found = pick(tag)
        if found:
            return found
    return _store_default()


def use_customer(request: HttpRequest, customer: Any) -> str:
    """The page speaks this customer's language (a page opened from a link in their e-mail)."""
    language = (
        pick(request.GET.get("lang"))
        or pick(getattr(customer, "language", None) if customer is not None else None)
        or for_request(request)
    )
    translation.activate(language)
    request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
    return language


def respond_in(
    language: str, request: HttpRequest, get_response: Callable[[HttpRequest], HttpResponse]
) -> HttpResponse:
    """The response to ``request`` made with ``language`` active (Content-Language, and Vary:
    Accept-Language); the customer pages' middleware and the panel's use it."""
    translation.activate(language)
    request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
    try:
        response = get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        vary = response.headers.get("Vary", "")
        if "Accept-Language" not in vary:
            response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
        return response
    finally:
        translation.deactivate()


class CustomerLanguageMiddleware:
    """Activates the customer's language on customer pages, and nothing on others (the panel,
    the API). Placed before MessageMiddleware, so flash messages are stored translated."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(CUSTOMER_PATHS):
            return self.get_response(request)
        return respond_in(for_request(request), request, self.get_response)
