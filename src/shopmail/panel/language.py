"""The language the control panel speaks (issue 27): each staff user's own choice.

``PanelLanguageMiddleware`` activates it for the panel's pages (``/admin/``) only; the customer
pages keep ``account/language.py``. A signed-in staff user sees the panel in the language they
chose on "Your account" (``PanelPreference``), else in the store's default language when the
panel speaks it, else in English. The sign-in page (nobody signed in yet) follows the browser's
Accept-Language, else English. The sentences are in the same gettext catalogs as the customer
pages (``locale/<lang>/LC_MESSAGES/django.po``, docs/translations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header

from shopmail.account.language import pick, respond_in

PANEL_PATH = "/admin/"
# each language named in itself, as a language menu does
CHOICES = [("en", "English"), ("nb", "Norsk bokmål"), ("de", "Deutsch")]
CODES = tuple(code for code, _name in CHOICES)


class UnknownLanguage(ValueError):
    pass


def _known(code: Any) -> str | None:
    found = pick(code)
    return found if found in CODES else None


def store_default() -> str:
    from shopmail.store.models import StoreSettings

    return _known(StoreSettings.load().default_language) or "en"


def chosen(user: Any) -> str | None:
    """The language this staff user chose, or None when they have not chosen one."""
    from shopmail.panel.models import PanelPreference

    row = PanelPreference.objects.filter(user_id=user.pk).only("language").first()
    return _known(row.language) if row is not None else None


def for_user(user: Any) -> str:
    return chosen(user) or store_default()


def choose(user: Any, code: str) -> str:
    """Save ``code`` as the user's panel language; anything but en, nb and de is refused."""
    from shopmail.panel.models import PanelPreference

    if code not in CODES:
        raise UnknownLanguage(_("Choose English, Norsk bokmål or Deutsch."))
    PanelPreference.objects.update_or_create(user_id=user.pk, defaults={"language": code})
    return code


def for_request(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return for_user(user)
    for tag, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        found = _known(tag)
        if found:
            return found
    return "en"


class PanelLanguageMiddleware:
    """Activates the staff user's language on the panel's pages, and nothing elsewhere. After
    AuthenticationMiddleware (it reads the user), before MessageMiddleware (flash messages are
    stored translated)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PANEL_PATH):
            return self.get_response(request)
        return respond_in(for_request(request), request, self.get_response)
