"""Where a template comes from: the newest saved override, else the packaged default.

Looked up for every composed e-mail, so a process keeps what it found, checked against a stamp
of the versions table (newest id, row count, newest time: one small query). Saving a version
adds a row, which changes the stamp, so every process sees a saved template at its next
lookup without being told.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection

from shopmail.db import column, table
from shopmail.mail import rendering
from shopmail.mail.models import TemplateVersion
from shopmail.mail.notifications import DEFAULT_LANGUAGE, LANGUAGES
from shopmail.mail.render import i18n
from shopmail.mail.render.formatting import base_language

_found: dict[tuple[str, str], tuple[Any, rendering.TemplateSource, str]] = {}
_lock = threading.Lock()
_saved: list[Any] = [None, frozenset()]  # [stamp, {(notification, language)} with a saved template]


def _stamp() -> Any:
    v = TemplateVersion
    with connection.cursor() as cursor:  # identifiers from the model's metadata only
        cursor.execute(
            f"SELECT MAX({column(v, 'pk')}), COUNT(*), MAX({column(v, 'created_at')}) FROM {table(v)}"
        )
        return (connection.alias, *cursor.fetchone())


def stamp() -> Any:
    """The versions table's stamp: a batch that reads it once passes it to ``current``."""
    return _stamp()


def current(notification: str, language: str, stamp: Any = None) -> tuple[rendering.TemplateSource, str]:
    """The live source for a notification and language, and a version label for the message log.
    ``stamp``: one read by the caller's batch (``stamp()``); else read here."""
    key = (notification, language)
    if stamp is None:
        stamp = _stamp()
    with _lock:
        found = _found.get(key)
    if found is not None and found[0] == stamp:
        return found[1], found[2]
    version = TemplateVersion.objects.filter(notification=notification, language=language).first()
    if version is None or version.restored_default:
        source, label = rendering.default_source(notification, language), f"default:{language}"
    else:
        source = rendering.TemplateSource(version.subject, version.text, version.html)
        label = f"v{version.pk}"
    with _lock:
        _found[key] = (stamp, source, label)
    return source, label


def _saved_languages(stamp: Any) -> frozenset[tuple[str, str]]:
    with _lock:
        if _saved[0] == stamp:
            return _saved[1]  # type: ignore[no-any-return]
    newest: dict[tuple[str, str], bool] = {}  # the newest version decides: a restored default is none
    rows = TemplateVersion.objects.order_by("pk").values_list("notification", "language", "restored_default")
    for notification, language, restored in rows.iterator():
        newest[(notification, language)] = not restored
    found = frozenset(key for key, saved in newest.items() if saved)
    with _lock:
        _saved[0], _saved[1] = stamp, found
    return found


def languages() -> list[str]:
    """The shipped languages and every language staff saved a template for."""
    saved = {language for _, language in _saved_languages(_stamp())}
    return [*LANGUAGES, *sorted(saved - set(LANGUAGES))]


def language_of(notification: str, tag: str | None, store_default: str | None) -> str:
    """The language a notification is written in for a customer (SPEC 6): the customer's, else its
    base language (``nb-NO`` -> ``nb``), else the store's default language, else English; a
    language counts when it ships with shopmail or staff saved this notification's template in it."""
    # templates are kept per base language (a saved one has a 2-3 letter code), so the
    # customer's tag counts by its base: nb-NO -> nb
    saved: frozenset[tuple[str, str]] | None = None  # looked up only for a language not shipped
    for candidate in (base_language(tag), base_language(store_default)):
        if not candidate:
            continue
        if candidate in LANGUAGES or i18n.has_catalog(candidate):
            return candidate
        if saved is None:
            saved = _saved_languages(_stamp())
        if (notification, candidate) in saved:
            return candidate
    return DEFAULT_LANGUAGE
