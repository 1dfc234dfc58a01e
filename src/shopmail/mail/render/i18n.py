"""The sentences of the e-mail templates in every language: gettext catalogs of the domain
``emails`` (``shopmail/locale/<lang>/LC_MESSAGES/emails.po``, compiled to ``emails.mo``).

A converted notification has one template (``emails/<notification>/body.html`` ...) whose
sentences are ``{% trans %}`` blocks; the language of the message (``language`` in the render
context) picks the catalog. English is the source language: its sentences are the message ids.
A language without a catalog reads English; a store can still override a notification's
template per language (``emails/<notification>/<lang>/`` or a saved template).

The same English words may need other words in another language (a sign-off to a business
partner): ``{% trans "context" %}...{% endtrans %}`` or ``pgettext("context", "...")`` give the
message a context (``msgctxt`` in the catalogs).

The per-language layouts and partials (``_layout/nb/layout.html``, ...) that stores' own
templates may name are shims onto the shared files: they set ``catalog_language``,
which picks the catalog in place of the message's ``language`` (``{{ language }}`` itself, the
``lang`` of the HTML, stays the message's).
"""

from __future__ import annotations

import gettext as gettext_module
from functools import cache
from importlib import resources
from pathlib import Path

from jinja2 import pass_context
from jinja2.runtime import Context

DOMAIN = "emails"


def _locale_dir() -> str:
    return str(resources.files("shopmail").joinpath("locale"))


@cache
def has_catalog(language: str) -> bool:
    """A language the e-mail sentences are translated into (a new language is a new catalog)."""
    return (Path(_locale_dir()) / language / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    return gettext_module.translation(DOMAIN, _locale_dir(), languages=[language], fallback=True)


def _language(context: Context) -> str:
    language = context.get("catalog_language") or context.get("language")
    return language if isinstance(language, str) and language else "en"


@pass_context
def gettext(context: Context, message: str) -> str:
    return translations(_language(context)).gettext(message)


@pass_context
def ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translations(_language(context)).ngettext(singular, plural, count)


@pass_context
def pgettext(context: Context, message_context: str, message: str) -> str:
    return translations(_language(context)).pgettext(message_context, message)


@pass_context
def npgettext(context: Context, message_context: str, singular: str, plural: str, count: int) -> str:
    return translations(_language(context)).npgettext(message_context, singular, plural, count)
