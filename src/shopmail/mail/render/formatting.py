"""Formatting for templates: dates, amounts, countries and addresses in the e-mail's language,
and plain strings, numbers and safe links from whatever a snapshot holds."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from shopmail.mail.notifications import DEFAULT_LANGUAGE, LANGUAGES

DEFAULT_BRAND_COLOR = "#1f6feb"


class _Locales(dict[str, str]):
    """The Babel locale of a language: the shipped ones with their country, any other language
    staff added templates for as itself (``fr``), English for a language Babel does not know."""

    def __missing__(self, language: str) -> str:
        return language if known_language(language) else "en_GB"


LOCALES = _Locales({"en": "en_GB", "nb": "nb_NO", "de": "de_DE"})


@lru_cache(maxsize=256)
def known_language(code: str) -> bool:
    if not re.fullmatch(r"[a-z]{2,3}", code):
        return False
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return False
    return True


def base_language(tag: str | None) -> str:
    """The base language of a BCP 47 tag: ``nb-NO`` and ``nb_no`` are ``nb``."""
    return re.split(r"[-_]", str(tag or "").strip().lower(), maxsplit=1)[0]


def _language(language: str | None, fallback: str | None = None) -> str:
    for candidate in (language, fallback):
        code = base_language(candidate)
        if code in LANGUAGES or known_language(code):
            return code
    return DEFAULT_LANGUAGE


def _to_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _format_date(value: str, language: str) -> str:
    day = _to_date(value)
    return format_date(day, format="medium", locale=LOCALES[language]) if day else value


def _date(value: Any, language: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        value = value.isoformat()
    return _format_date(str(value), language)


@lru_cache(maxsize=4096)
def _format_money(value: str, currency: str, language: str) -> str:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    locale = LOCALES[language]
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=locale)
    try:
        return currency_spacing(format_currency(amount, currency, locale=locale))
    except Exception:  # an unknown currency code: the amount and the code as given
        return f"{format_decimal(amount, format='#,##0.00', locale=locale)} {currency}"


_LETTERS_THEN_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)")
_DIGIT_THEN_LETTERS = re.compile(r"(?<=\d)(?=[^\W\d_])")


def currency_spacing(text: str) -> str:
    """CLDR's currencySpacing, which Babel leaves out: a currency code or other letters next to
    the digits get a no-break space (``NOK1,349.00`` is ``NOK\u00a01,349.00``); symbols such as
    € and $ stay attached."""
    return _DIGIT_THEN_LETTERS.sub("\u00a0", _LETTERS_THEN_DIGIT.sub("\u00a0", text))


def money(value: Any, currency: str, language: str) -> str:
    """An amount in the currency and the language's format (``1 349,00 kr``, ``NOK 1,349.00``)."""
    return _money(value, currency, _language(language))


def _money(value: Any, currency: str, language: str) -> str:
    if value is None or value == "":
        return ""
    return _format_money(str(value), currency, language)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _url(value: Any) -> str:
    """Links only with http(s) or mailto, so no template can be made to link to javascript:."""
    text = _str(value).strip()
    return text if re.match(r"(?i)^(https?://|mailto:)", text) else ""


def _brand_color(value: Any) -> str:
    text = _str(value).strip()
    return text if re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", text) else DEFAULT_BRAND_COLOR


@lru_cache(maxsize=512)
def _country(code: str, language: str) -> str:
    if re.fullmatch(r"[A-Za-z]{2}", code):
        return str(Locale.parse(LOCALES[language]).territories.get(code.upper(), code))
    return code


_ADDRESS_FIELDS = {
    "name": ("name", "full_name"),
    "company": ("company", "company_name"),
    "address1": ("address1", "address_1", "line1", "street", "street_address"),
    "address2": ("address2", "address_2", "line2"),
    "postcode": ("postcode", "postal_code", "zip", "zip_code"),
    "city": ("city", "town"),
    "region": ("region", "state", "province", "county"),
    "country": ("country", "country_code"),
    "phone": ("phone",),
}


def _address(value: Any, language: str) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    out: dict[str, Any] = {
        key: next((_str(raw[alias]).strip() for alias in aliases if raw.get(alias)), "")
        for key, aliases in _ADDRESS_FIELDS.items()
    }
    if not out["name"]:
        out["name"] = " ".join(_str(raw.get(k)).strip() for k in ("first_name", "last_name") if raw.get(k))
    out["country"] = _country(out["country"], language) if out["country"] else ""
    town = " ".join(part for part in (out["postcode"], out["city"]) if part)
    out["lines"] = [
        part
        for part in (
            out["name"],
            out["company"],
            out["address1"],
            out["address2"],
            town,
            out["region"],
            out["country"],
        )
        if part
    ]
    return out
