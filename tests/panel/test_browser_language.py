"""Issue 27, item 5, in Debian's Chromium: a staff user switches the panel to Norwegian on "Your
account" and finds the menu in Norwegian. Screenshot: docs/screenshots/panel-nb.png."""

from __future__ import annotations

import re

import pytest
from test_browser import browser, panel, snap  # noqa: F401  (the fixtures: a signed-in panel page)

from factories import order
from shopmail.flows.ingest import ingest

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)


def test_switch_the_panel_to_norwegian(panel):  # noqa: F811
    ingest(orders=[order(str(800 + index), status="processing") for index in range(3)])
    page = panel
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Your account").click()
    page.wait_for_url(re.compile(r"/admin/me/$"))
    page.get_by_label("Panel language").select_option("nb")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/admin/me/$"))
    assert (
        page.get_by_role("status").inner_text().strip() == "Kontrollpanelet vises nå på Norsk bokmål for deg."
    )
    page.get_by_role("link", name="Oversikt", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/$"))
    assert page.locator("html").get_attribute("lang") == "nb"
    menu = page.get_by_role("navigation", name="Hovedmeny")
    for link in (
        "Oversikt",
        "Bestillinger",
        "Kunder",
        "Meldingslogg",
        "Maler",
        "Varsler",
        "E-postinnstillinger",
    ):
        assert menu.get_by_role("link", name=link, exact=True).is_visible(), link
    names = menu.inner_text()
    for english in ("Dashboard", "Orders", "Message log", "Templates", "E-mail settings", "Staff users"):
        assert english not in names, english
    assert page.get_by_role("heading", name="Oversikt", level=1).is_visible()
    assert page.get_by_role("heading", name="Sendt i dag").is_visible()
    snap(page, "panel-nb")
    # the menu leads to Norwegian pages, and the choice holds on them
    menu.get_by_role("link", name="Bestillinger", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/orders/$"))
    assert page.get_by_role("heading", name="Bestillinger", level=1).is_visible()
    assert page.get_by_label("Søk på bestillingsnummer, kundenavn eller e-post").is_visible()
