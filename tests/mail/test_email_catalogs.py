"""One template per notification, its sentences in gettext catalogs (issue 20): the catalogs of
the e-mail templates (domain ``emails``) are complete, none stale, compiled; and a converted
notification rendered in Norwegian or German contains no English sentence of the English
catalog (its message ids)."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from shopmail.mail import rendering
from shopmail.mail.notifications import NOTIFICATIONS

SRC = Path(__file__).resolve().parents[2] / "src" / "shopmail"
LOCALE = SRC / "locale"
LANGUAGES = ("nb", "de")
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "emails.po").open("rb") as handle:
        return read_po(handle, locale=language)


def converted() -> list[str]:
    """The notifications with one template for every language."""
    return sorted(
        path.name
        for path in (SRC / "emails").iterdir()
        if path.is_dir() and not path.name.startswith("_") and (path / "body.html").is_file()
    )


def english_sentences(language: str) -> set[str]:
    """Every run of words of the English message ids that the language says otherwise."""
    found = set()
    for message in catalog(language):
        if not message.id or message.string == message.id:
            continue
        for piece in PLACEHOLDER.split(message.id):
            piece = piece.strip(" ,.:·()")
            if len(piece) >= 6 and piece not in message.string:
                found.add(piece)
    return found


def test_the_catalogs_have_every_message_and_none_stale(tmp_path):
    copy = tmp_path / "shopmail"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    script = SRC.parents[1] / "scripts" / "email-messages"
    subprocess.run([sys.executable, str(script), str(copy)], check=True, capture_output=True)
    for language in LANGUAGES:  # a message is its context and its id ("Kind regards," has three)
        ours = {(m.context or "", m.id): m for m in catalog(language) if m.id}
        with (copy / "locale" / language / "LC_MESSAGES" / "emails.po").open("rb") as handle:
            wanted = {(m.context or "", m.id) for m in read_po(handle) if m.id}
        assert sorted(wanted - set(ours)) == [], "missing: run scripts/messages and translate"
        assert sorted(set(ours) - wanted) == [], "stale: run scripts/messages"
        for message in ours.values():
            assert message.string and "fuzzy" not in message.flags, (language, message.id)
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string))
        with (LOCALE / language / "LC_MESSAGES" / "emails.mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for (context, message_id), message in ours.items():
            found = compiled.pgettext(context, message_id) if context else compiled.gettext(message_id)
            assert found == message.string, "run scripts/messages to compile"


def test_every_notification_is_converted():
    assert converted() == sorted(NOTIFICATIONS)
    for notification in converted():
        for language in ("en", "nb", "de"):
            assert not (SRC / "emails" / notification / language).exists(), "one template, no copies"


@pytest.mark.parametrize("notification", converted())
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_converted_notification_has_no_english_in_norwegian_or_german(notification, language):
    english = english_sentences(language)
    assert len(english) > 20
    mail = rendering.render(notification, language, rendering.sample_context(notification, language))
    for part in (mail.subject, mail.text, mail.html):
        for sentence in english:  # whole words: German "Downloads" is not the English "Download"
            found = re.search(rf"(?<!\w){re.escape(sentence)}(?!\w)", part)
            assert found is None, (notification, language, sentence)
    # and the English one reads English
    source = rendering.render(notification, "en", rendering.sample_context(notification, "en"))
    assert any(sentence in source.text for sentence in english)


@pytest.mark.django_db
def test_a_new_language_is_a_new_catalog(store, tmp_path, monkeypatch):
    """A French catalog alone makes French customers' e-mails French (sentences it lacks read
    English); without it they get the store's language."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from factories import order
    from fixtures.customer_kit import rendered
    from shopmail.flows.ingest import ingest
    from shopmail.mail.models import Message
    from shopmail.mail.render import i18n

    french = Catalog(locale="fr")
    french.add("Your order %(number)s has been cancelled", "Votre commande %(number)s a été annulée")
    french.add("Your order has been cancelled", "Votre commande a été annulée")
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "fr" / "LC_MESSAGES" / "emails.mo").open("wb") as handle:
        write_mo(handle, french)
    store.default_language = "de"
    store.save()

    def cancelled(order_id: str):
        data = order(order_id, status="cancelled")
        data["customer"]["language"] = "fr-FR"
        first = order(order_id, status="processing")
        first["customer"]["language"] = "fr-FR"
        assert not ingest(orders=[first]).rejected
        assert not ingest(orders=[{**data, "updated_at": "2026-11-20T11:00:00+00:00"}]).rejected
        return rendered(Message.objects.get(notification="order_cancelled", order__external_id=order_id))

    assert "Bestellung" in cancelled("FR-1").subject  # no French catalog: the store's German
    monkeypatch.setattr(i18n, "_locale_dir", lambda: str(tmp_path))
    i18n.has_catalog.cache_clear()
    i18n.translations.cache_clear()
    try:
        mail = cancelled("FR-2")
        assert mail.subject == "Votre commande FR-2 a été annulée"
        assert "Votre commande a été annulée" in mail.html
        assert "Kind regards," in mail.text  # not translated yet: English
    finally:
        i18n.has_catalog.cache_clear()
        i18n.translations.cache_clear()


def test_a_message_with_a_context_has_its_own_words():
    """A drop-shipper is a business partner: German signs off "Freundliche Grüße" there and "Viele
    Grüße" to customers, from one English "Kind regards," ({% trans "context" %}, msgctxt)."""
    for notification, words in (
        ("dropshipper_invite", "Freundliche Grüße"),
        ("order_completed", "Viele Grüße"),
    ):
        mail = rendering.render(notification, "de", rendering.sample_context(notification, "de"))
        assert f"\n{words}\nFjord & Fell\n" in mail.text, notification
        assert f">{words}<br>Fjord &amp; Fell</p>" in mail.html or notification == "dropshipper_invite"
    german = rendering.render(
        "dropshipper_invite", "de", rendering.sample_context("dropshipper_invite", "de")
    )
    assert ">Freundliche Grüße,<br>Fjord &amp; Fell</p>" in german.html  # as the former German copy
    mail = rendering.render("dropshipper_invite", "en", rendering.sample_context("dropshipper_invite", "en"))
    assert "\nKind regards,\nFjord & Fell\n" in mail.text
    assert ">Kind regards,<br>Fjord &amp; Fell</p>" in mail.html
