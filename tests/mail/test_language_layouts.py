"""The per-language layouts and partials (``emails/_layout/en/layout.html``, ``nb/...``, ``de/...``)
that stores' own templates name (docs/templates.md) are shims onto the one shared file each: a
template that names them renders exactly as one that names the shared files, in every language,
and a language's layout keeps its sentences in that language whatever the message's language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shopmail.mail.notifications import LANGUAGES, NOTIFICATIONS
from shopmail.mail.render.types import TemplateSource
from shopmail.mail.rendering import default_source, render, sample_context

LAYOUT = Path(__file__).resolve().parents[2] / "src" / "shopmail" / "emails" / "_layout"
# the files stores' templates may name with a language folder (docs/templates.md); partials added
# since (greeting, order_link) are shared only
SHARED = sorted(path.name for path in (LAYOUT / "en").iterdir())
_NAME = re.compile('"(' + "|".join(re.escape(name) for name in SHARED) + ')"')


def naming_language_files(source: TemplateSource, language: str) -> TemplateSource:
    """The standard template as a store's saved copy that names ``<language>/layout.html``,
    ``<language>/order_summary.html``, ... instead of the shared files."""

    def rename(text: str) -> str:
        return _NAME.sub(lambda match: f'"{language}/{match.group(1)}"', text)

    return TemplateSource(source.subject, rename(source.text), rename(source.html))


def contexts(notification: str, language: str) -> list[dict[str, Any]]:
    plain = sample_context(notification, language)
    branded = sample_context(
        notification,
        language,
        store={"logo_url": "https://shop.example.com/logo.png", "footer_text": "Fjord & Fell AS\nOslo"},
    )
    branded["custom_message"] = "A note from the shop.\n\nSecond paragraph."
    branded["customer"] = {**branded["customer"], "first_name": ""}
    return [plain, branded]


def test_every_language_folder_holds_a_shim_of_every_shared_file() -> None:
    for language in LANGUAGES:
        folder = LAYOUT / language
        assert sorted(path.name for path in folder.iterdir()) == SHARED
        assert len(SHARED) == 12
        for name in SHARED:
            code = [line for line in (folder / name).read_text().splitlines() if not line.startswith("{#")]
            assert (LAYOUT / name).is_file() and len(code) == 2, (language, name)
            onto = {f'{{% extends "{name}" %}}', f'{{% include "{name}" %}}'}
            assert onto & set(code), (language, name)
            assert f'{{% set catalog_language = "{language}" %}}' in code, (language, name)


@pytest.mark.parametrize("notification", sorted(NOTIFICATIONS))
def test_a_template_naming_the_language_files_renders_as_the_standard_one(notification: str) -> None:
    checked = 0
    for language in LANGUAGES:
        standard = default_source(notification, language)
        saved = naming_language_files(standard, language)
        for context in contexts(notification, language):
            assert render(notification, language, context, saved) == render(notification, language, context)
            checked += saved != standard
    # every notification extends the shared layout, so the saved copy names at least it
    assert checked == 2 * len(LANGUAGES)


# A store's own template as the docs show it: English sentences written in, the English layout
# and order summary by name. Before the shims, en/layout.html and en/order_summary.html held
# their sentences in English; they still do, in a Norwegian or German message too.
OWN_HTML = """{% extends "en/layout.html" %}
{% block content %}<h1>Thanks, {{ customer.first_name }}!</h1>
{% include "en/order_summary.html" %}{% include "de/shipment.html" %}{% endblock %}"""
OWN_TEXT = """{% extends "en/layout.txt" %}
{% block content %}Thanks, {{ customer.first_name }}!
{% include "en/order_summary.txt" %}{% include "de/shipment.txt" %}{% endblock %}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_language_layout_keeps_its_language_in_a_message_of_another(language: str) -> None:
    context = sample_context("order_shipped", language)
    context["custom_message"] = "A note."
    out = render("order_shipped", language, context, TemplateSource("Order", OWN_TEXT, OWN_HTML))
    assert f'<html lang="{language}"' in out.html  # the message's language, as before
    for part in (out.html, out.text):
        assert "You are receiving this e-mail about your account" in part
        assert "A message from Fjord" in part
        assert "Du får denne" not in part and "Sie erhalten diese" not in part
        assert "Subtotal" in part and "Zwischensumme" not in part and "Delsum" not in part
    assert "Zur Sendung" in out.html and "Versanddienst" in out.html  # de/shipment.html
    assert "ZUR SENDUNG" in out.text and "Shipment details" not in out.html
    # amounts and dates stay in the message's language
    assert sample_context("order_shipped", language)["order"]["totals"]["total"] in out.text
