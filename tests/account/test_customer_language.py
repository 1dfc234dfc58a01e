"""Customer pages in the customer's language (SPEC 7; issue 20, item 5): the gettext catalogs of
src/shopmail/locale are complete and have no stale messages, and My page, the signed order
page, the back-order choice, unsubscribe, contact, sign-in and reset speak en, nb and de."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from django.test import Client

from factories import evolve, shipment
from factories import order as order_snapshot
from fixtures.customer_kit import make_account, sign_in
from shopmail.flows.ingest import ingest
from shopmail.store.models import Customer, Order

SRC = Path(__file__).resolve().parents[2] / "src" / "shopmail"
LOCALE = SRC / "locale"
LANGUAGES = ("nb", "de")
# words that are the same in that language, and technical terms kept as they are (the panel's too)
SAME = {"Status", "Newsletter", "Send", "HTML", "Server", "Port", "System", "Webhooks", "Message-ID", "URL"}
SAME |= {"sendmail"}
SAME_IN = {
    "nb": SAME
    | {"Send test", "Transport", "Program", "STARTTLS (port 587)", "TLS (port 465)", "server", "Id"}
    | {"(%(summary)s) for %(to)s.", "administrator"},
    "de": SAME | {"Name", "Shop", "Details", "Code", "← Sync", "Text", "Version", "Link", "Secret"},
}


def _extracted(tmp: Path) -> dict[str, set[str]]:
    """The messages scripts/messages would put in each catalog, by running it (Django's
    makemessages, xgettext) on a copy of the sources."""
    if shutil.which("xgettext") is None:
        pytest.skip("no xgettext (Debian's gettext package) to extract messages with")
    copy = tmp / "shopmail"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.mo"))
    (copy / "locale").mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp),
        "SHOPMAIL_DATA_DIR": str(tmp / "data"),
        "DJANGO_SETTINGS_MODULE": "shopmail.settings",
        "PYTHON": sys.executable,
    }
    (tmp / "scripts").mkdir()
    for name in ("messages", "email-messages"):
        (tmp / "scripts" / name).write_text((SRC.parents[1] / "scripts" / name).read_text())
    (tmp / "src").symlink_to(tmp)  # the script works in ../src/shopmail
    subprocess.run(["sh", str(tmp / "scripts" / "messages")], env=env, check=True, capture_output=True)
    found = {}
    for language in LANGUAGES:
        with (copy / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
            found[language] = {(m.context, m.id) for m in read_po(handle) if m.id}
    return found


def _forms(text) -> tuple[str, ...]:
    return tuple(text) if isinstance(text, (tuple, list)) else (text,)


def catalog(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_has_every_message_and_none_stale(language, tmp_path):
    wanted = _extracted(tmp_path)[language]
    assert len(wanted) > 150 and (None, "Order placed") in wanted
    messages = {(m.context, m.id): m for m in catalog(language) if m.id}
    assert sorted(wanted - set(messages), key=str) == [], "missing: run scripts/messages and translate"
    assert sorted(set(messages) - wanted, key=str) == [], "stale: run scripts/messages"
    for message in messages.values():
        ids, strings = _forms(message.id), _forms(message.string)  # a plural has two of each
        assert all(strings), f"{language}: {message.id!r} has no translation"
        assert "fuzzy" not in message.flags, f"{language}: {message.id!r} is fuzzy"
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", ids[-1])) == set(re.findall(r"%\(\w+\)s", text)), text
        assert strings != ids or message.id in SAME_IN[language], message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_po_file(language):
    compiled = LOCALE / language / "LC_MESSAGES" / "django.mo"
    with compiled.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    for message in catalog(language):
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # nb and de: the singular for 1, the plural for the rest
            compiled_forms = tuple(translations.ngettext(*message.id, n) for n in (1, 2))
            assert compiled_forms == tuple(message.string), "run scripts/messages to compile"
        elif message.context:
            compiled = translations.pgettext(message.context, message.id)
            assert compiled == message.string, "run scripts/messages to compile"
        else:
            assert translations.gettext(message.id) == message.string, "run scripts/messages to compile"


# ---------------------------------------------------------------- the pages


@pytest.fixture
def customer_order(store):
    def make(language: str, order_id: str = "L-1"):
        first = order_snapshot(order_id, status="processing", minute=0)
        first["customer"] = {
            "id": f"c-{order_id}",
            "email": f"{order_id.lower()}@example.com",
            "first_name": "Kari",
            "last_name": "Nordmann",
            "language": language,
        }
        first["currency"] = "NOK"
        first["totals"] = {"subtotal": "1349.00", "shipping": "0.00", "tax": "0.00", "total": "1349.00"}
        later = evolve(first, 30, picked=True, shipments=[shipment("s1", {"1": 1}, tracking="1Z42")])
        assert not ingest(orders=[first]).rejected
        assert not ingest(orders=[later]).rejected
        return Order.objects.get(external_id=order_id)

    return make


WORDS = {
    "en": [
        "Your orders",
        "Order placed",
        "Order confirmed",
        "Part of your order has been shipped",
        "Your order has been picked",
        "Shipments",
        "NOK\u00a01,349.00",
    ],
    "nb": [
        "Dine bestillinger",
        "Bestilling lagt inn",
        "Bestillingen er bekreftet",
        "Deler av bestillingen din er sendt",
        "Varene i bestillingen din er plukket",
        "Forsendelser",
        "1\u00a0349,00\u00a0kr",
    ],
    "de": [
        "Ihre Bestellungen",
        "Bestellung aufgegeben",
        "Bestellung bestätigt",
        "Ein Teil Ihrer Bestellung ist unterwegs",
        "Die Artikel Ihrer Bestellung wurden kommissioniert",
        "Sendungen",
        "1.349,00\u00a0NOK",
    ],
}
ENGLISH = ["Your orders", "Order placed", "Order confirmed", "Shipments", "Sign out", "Part of your order"]


@pytest.mark.parametrize("language", ["en", "nb-NO", "de"])
def test_my_page_in_the_customers_language(customer_order, language):
    found = customer_order(language)
    client = Client()
    make_account(Customer.objects.get(external_id="c-L-1"))
    sign_in(client, "l-1@example.com")
    code = language[:2]
    listing = client.get("/account/").content.decode()
    detail_response = client.get(f"/account/orders/{found.pk}/")
    detail = detail_response.content.decode()
    page = listing + detail
    assert f'<html lang="{code}">' in listing
    assert detail_response["Content-Language"] == code
    for words in WORDS[code]:
        assert words in page, (code, words)
    if code != "en":
        for english in ENGLISH:
            assert english not in page, (code, english)


def test_signed_order_page_speaks_the_orders_customer_language(customer_order):
    from shopmail.mail import links

    found = customer_order("de")
    page = Client().get(urlsplit(links.order_url(found.external_id)).path)
    text = page.content.decode()
    assert page.status_code == 200
    assert "Bestellung aufgegeben" in text and "Order placed" not in text


def test_back_order_choice_page_in_german(store):
    from shopmail.mail import links

    data = order_snapshot("L-2", status="processing")
    data["customer"]["language"] = "de"
    data["lines"][0]["backordered"] = True
    assert not ingest(orders=[data]).rejected
    url = links.backorder_urls("L-2")["one_shipment"]
    text = Client().get(urlsplit(url).path).content.decode()
    assert "Wie möchten Sie Ihre Bestellung erhalten?" in text
    assert "Eine Sendung, wenn alles vorrätig ist" in text and "How would you like" not in text


def test_unsubscribe_page_in_norwegian(store):
    from shopmail.newsletter import consent

    kari = Customer.objects.create(
        external_id="c-kari", email="kari@example.com", language="nb", newsletter_opt_in=True
    )
    text = Client().get(urlsplit(consent.url(kari.pk, 1)).path).content.decode()
    assert "Meld deg av nyhetsbrevet" in text and '<html lang="nb">' in text
    assert "Unsubscribe from the newsletter" not in text


@pytest.mark.parametrize(
    ("header", "query", "expected", "absent"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "", "Kontakt", "Your name"),
        ("", "?lang=nb", "Navnet ditt", "Your name"),
        ("fr-FR,fr;q=0.9", "", "Your name", "Navnet ditt"),
    ],
)
def test_contact_page_follows_the_browser_or_lang(store, header, query, expected, absent):
    text = Client(HTTP_ACCEPT_LANGUAGE=header).get(f"/contact/{query}").content.decode()
    assert expected in text and absent not in text


def test_anonymous_pages_fall_back_to_the_stores_language(store):
    store.default_language = "nb"
    store.save()
    text = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/account/login/").content.decode()
    assert "Logg inn på Min side" in text and "Glemt passordet?" in text


def test_reset_page_in_the_customers_language(customer_order):
    from shopmail.account import tokens
    from shopmail.account.models import AccountToken

    customer_order("nb")
    account = make_account(Customer.objects.get(external_id="c-L-1"))
    _row, token = tokens.issue(account, AccountToken.Purpose.RESET)
    text = Client().get(f"/account/reset/{token}/").content.decode()
    assert "Velg et nytt passord" in text and "Nytt passord en gang til" in text
    assert "Choose a new password" not in text


def test_flash_messages_are_translated(customer_order):
    customer_order("de")
    client = Client()
    make_account(Customer.objects.get(external_id="c-L-1"))
    sign_in(client, "l-1@example.com")
    response = client.post("/account/logout/", follow=True)
    assert "Sie sind abgemeldet." in response.content.decode()
