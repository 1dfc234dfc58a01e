"""The panel in each staff user's language (issue 27, item 5): English, Norwegian (bokmål) or
German, chosen on "Your account", with the same gettext catalogs as the customer pages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from django.test import Client
from panel_support import STAFF_EMAIL, STAFF_PASSWORD

from shopmail.panel.models import PanelPreference

SRC = Path(__file__).resolve().parents[2] / "src" / "shopmail"

# a few phrases of each page, and English ones that must be gone
PAGES = {
    "nb": {
        "/admin/": [
            "Oversikt",
            "Sendt i dag",
            "Venter på å bli sendt",
            "Siste feil",
            "Meldingslogg",
            "Logg ut",
        ],
        "/admin/orders/": ["Søk på bestillingsnummer, kundenavn eller e-post", "Opprettet", "Oppdatert"],
        "/admin/templates/": ["E-postmaler", "Mottakergruppe", "Legg til et språk", "Ordrebekreftelse"],
        "/admin/settings/": ["Butikk og avsender", "Lagre transport", "Butikknavn", "Send en test-e-post"],
    },
    "de": {
        "/admin/": ["Übersicht", "Heute gesendet", "Warten auf den Versand", "Letzte Fehler", "Abmelden"],
        "/admin/orders/": ["Nach Bestellnummer, Kundenname oder E-Mail suchen", "Erstellt", "Aktualisiert"],
        "/admin/templates/": ["E-Mail-Vorlagen", "Zielgruppe", "Sprache hinzufügen", "Bestellbestätigung"],
        "/admin/settings/": [
            "Shop und Absender",
            "Versandweg speichern",
            "Name des Shops",
            "Test-E-Mail senden",
        ],
    },
}
ENGLISH = {
    "/admin/": ["Sent today", "Waiting to go out", "Latest failures", "Message log", "Sign out", "Orders"],
    "/admin/orders/": ["Search by order number", "Created", "Updated"],
    "/admin/templates/": ["E-mail templates", "Audience", "Add a language", "Order confirmation"],
    "/admin/settings/": ["Store and sender", "Save transport", "Store name", "Send a test e-mail"],
}


def _choose(client: Client, language: str):
    return client.post("/admin/me/", {"language": language}, follow=True)


def _text(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize("language", ["nb", "de"])
def test_a_staff_user_reads_the_panel_in_their_language(staff, staff_user, placed, language):
    done = _choose(staff, language).content.decode()
    said = {"nb": "Kontrollpanelet vises nå på Norsk bokmål for deg.", "de": "Das Kontrollpanel wird Ihnen"}
    assert said[language] in done  # the confirmation already in the language just chosen
    for url, phrases in PAGES[language].items():
        response = staff.get(url)
        page = response.content.decode()
        assert response["Content-Language"] == language and f'<html lang="{language}">' in page, url
        for phrase in phrases:
            assert phrase in page, (language, url, phrase)
        for english in ENGLISH[url]:
            assert f">{english}<" not in page and f"{english} " not in page, (language, url, english)
    assert PanelPreference.objects.get(user=staff_user).language == language


def test_another_staff_user_of_the_same_store_still_reads_english(staff, clerk, placed):
    _choose(staff, "nb")
    colleague = Client()
    colleague.force_login(clerk)
    for url, phrases in ENGLISH.items():
        page = _text(colleague, url)
        assert '<html lang="en">' in page
        for phrase in phrases:
            assert phrase in page, (url, phrase)
        for norwegian in PAGES["nb"][url]:
            assert norwegian not in page, (url, norwegian)


def test_the_choice_persists_across_sessions(staff, staff_user):
    _choose(staff, "de")
    staff.post("/admin/logout/")
    later = Client()  # another browser, signing in through the form
    signed_in = later.post(
        "/admin/login/", {"username": STAFF_EMAIL, "password": STAFF_PASSWORD}, follow=True
    )
    page = signed_in.content.decode()
    assert signed_in.redirect_chain[-1][0] == "/admin/"
    assert "Heute gesendet" in page and "Sent today" not in page


def test_an_unknown_language_is_refused_and_changes_nothing(staff, staff_user):
    _choose(staff, "nb")
    for wrong in ("fr", "", "nb-NO", "<script>"):
        response = staff.post("/admin/me/", {"language": wrong})
        page = response.content.decode()
        assert response.status_code == 400, wrong
        # the error in the language the panel speaks now: it has not changed
        assert "Velg English, Norsk bokmål eller Deutsch." in page and "Ingenting ble endret." in page
        assert 'aria-invalid="true"' in page
    assert PanelPreference.objects.get(user=staff_user).language == "nb"
    assert "Sendt i dag" in _text(staff, "/admin/")


def test_without_a_choice_the_panel_follows_the_stores_language(staff, staff_user, store):
    assert "Sent today" in _text(staff, "/admin/")  # the test store writes English
    store.default_language = "nb"
    store.save()
    assert "Sendt i dag" in _text(staff, "/admin/")
    assert 'value="nb" selected' in _text(staff, "/admin/me/")  # shown as the current choice
    store.default_language = "fr"  # a language the panel does not speak: English
    store.save()
    assert "Sent today" in _text(staff, "/admin/")
    store.default_language = "nb"
    store.save()
    _choose(staff, "en")  # an own choice wins over the store's
    assert "Sent today" in _text(staff, "/admin/")


@pytest.mark.parametrize(
    ("header", "expected", "absent"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "Am Kontrollpanel anmelden", "Sign in to the control panel"),
        ("nb-NO,nb;q=0.9", "Logg inn i kontrollpanelet", "Sign in to the control panel"),
        ("fr-FR,fr;q=0.9", "Sign in to the control panel", "Logg inn i kontrollpanelet"),
        ("", "Sign in to the control panel", "Logg inn i kontrollpanelet"),
    ],
)
def test_the_sign_in_page_follows_the_browser_or_english(store, header, expected, absent):
    store.default_language = "nb"  # not for the sign-in page: nobody is known yet
    store.save()
    page = Client(HTTP_ACCEPT_LANGUAGE=header).get("/admin/login/").content.decode()
    assert expected in page and absent not in page


def test_flash_messages_and_form_errors_are_translated(staff, staff_user):
    _choose(staff, "nb")
    response = staff.post(
        "/admin/staff/",
        {"email": "new@shop.test", "password1": "a-long-pass-phrase-1", "password2": "another-pass-phrase-2"},
    )
    assert response.status_code == 422 and "De to passordene er ulike." in response.content.decode()
    saved = staff.post("/admin/notifications/", {"n:order_confirmed": "on"}, follow=True).content.decode()
    assert "Varselinnstillingene er lagret." in saved and "Notification settings saved." not in saved


def test_customer_pages_keep_their_own_language(staff, staff_user):
    _choose(staff, "de")
    page = staff.get("/contact/", HTTP_ACCEPT_LANGUAGE="nb-NO").content.decode()
    assert "Navnet ditt" in page and "Ihr Name" not in page  # the customer side's own choice
    assert '<html lang="nb">' in page


# ---------------------------------------------------------------- the catalogs

PANEL_TEMPLATES = [
    SRC / "panel" / "templates" / "panel",
    SRC / "newsletter" / "templates" / "newsletter" / "panel",
    SRC / "support" / "templates" / "support" / "staff",
    SRC / "connectors" / "templates" / "connectors",
]
PANEL_CODE = [
    *(SRC / "panel").glob("*.py"),
    SRC / "newsletter" / "panel.py",
    SRC / "newsletter" / "forms.py",
    SRC / "support" / "staff_views.py",
    SRC / "connectors" / "panel.py",
    SRC / "core" / "staff.py",
]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}


def panel_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message the panel's templates and views mark for translation."""
    from django.utils.translation.template import templatize

    found: set[tuple[str | None, str]] = set()
    sources = [
        (path, templatize(path.read_text(), origin=str(path)))
        for d in PANEL_TEMPLATES
        for path in d.glob("*.html")
    ]
    sources += [(path, path.read_text()) for path in PANEL_CODE if path.name != "dropship_portal.py"]
    for _path, code in sources:
        for _line, _func, message, _comments in extract_python(io.BytesIO(code.encode()), KEYWORDS, [], {}):
            ids = message if isinstance(message, tuple) else (message,)
            context = None
            if _func in ("pgettext", "npgettext"):
                context, ids = ids[0], ids[1:]
            if ids and isinstance(ids[0], str) and ids[0]:
                found.add((context, ids[0]))
    return found


@pytest.mark.parametrize("language", ["nb", "de"])
def test_every_panel_message_has_a_translation(language):
    wanted = panel_messages()
    assert len(wanted) > 500 and (None, "Dashboard") in wanted and (None, "Store and sender") in wanted
    with (SRC / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        first = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            translated[(message.context, first)] = strings
    untranslated = sorted(wanted - set(translated), key=str)
    assert untranslated == [], f"{language}: no translation (run scripts/messages and translate)"
