"""Dates typed in the panel in the store's format (issue 27), not the browser's locale.

A browser's ``<input type="date">`` shows mm/dd/yyyy or dd.mm.yyyy after the browser's own
locale, whatever the store. The panel's date fields are text fields in the format of the store's
default language (``dd.mm.yyyy`` for nb and de, ``yyyy-mm-dd`` otherwise); ISO ``yyyy-mm-dd`` is
accepted everywhere too, so a pasted ISO date works.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from shopmail.store.models import StoreSettings

ISO = "%Y-%m-%d"
FORMATS: dict[str, tuple[str, str]] = {  # language -> (strftime pattern, what the field shows)
    "nb": ("%d.%m.%Y", "dd.mm.yyyy"),
    "de": ("%d.%m.%Y", "dd.mm.yyyy"),
}


def store_format(language: str | None = None) -> tuple[str, str]:
    if language is None:
        language = StoreSettings.load().default_language
    return FORMATS.get(language, (ISO, "yyyy-mm-dd"))


def parse(text: str, pattern: str | None = None) -> dt.date | None:
    """The date in ``text`` (the store's format or ISO), or None when it is not one."""
    text = text.strip()
    for candidate in (pattern or store_format()[0], ISO):
        try:
            return dt.datetime.strptime(text, candidate).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
    return None


def to_iso(text: str) -> str:
    """A typed date as ISO for the API's order actions; what cannot be read is passed on as is
    (the action's validation names it)."""
    found = parse(text)
    return found.isoformat() if found is not None else text


def input_attrs(placeholder: str) -> dict[str, Any]:
    return {
        "placeholder": placeholder,
        "inputmode": "numeric",
        "autocomplete": "off",
        "pattern": r"[0-9]{1,4}[.\-/][0-9]{1,2}[.\-/][0-9]{1,4}",
        "size": 12,
        "class": "date",
    }


class StoreDateField(forms.DateField):
    """A date field shown and read in the store's format (ISO accepted too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pattern, placeholder = store_format()
        kwargs.setdefault("input_formats", [pattern, ISO])
        kwargs.setdefault("widget", forms.DateInput(format=pattern, attrs=input_attrs(placeholder)))
        kwargs.setdefault("help_text", _("As %(format)s") % {"format": placeholder})
        super().__init__(*args, **kwargs)
