"""The panel at phone width (issue 27), in Debian's Chromium at 375 px: the menu behind a
button, tables that scroll inside their box (the page itself never wider than the screen), and
date fields in the store's format. Screenshots: docs/screenshots/phone-*.png."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from panel_support import STAFF_EMAIL
from test_browser import browser, panel, snap  # noqa: F401  (the fixtures: a signed-in panel page)

from factories import order
from shopmail.flows.ingest import ingest
from shopmail.panel.language import choose
from shopmail.store.models import StoreSettings

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}


def _page_width(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_phone_menu_tables_and_dates(panel):  # noqa: F811
    settings = StoreSettings.load()
    settings.default_language = "nb"
    settings.save()
    # the owner chose an English panel (panel/language.py); dates still follow the store's nb
    choose(get_user_model().objects.get(username=STAFF_EMAIL), "en")
    ingest(orders=[order(str(700 + index), status="processing") for index in range(6)])
    page = panel
    page.set_viewport_size(PHONE)
    page.goto("/admin/")
    menu = page.get_by_role("button", name="Menu")
    nav = page.locator("#main-nav")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()  # the first screen is the dashboard, not the menu
    assert page.get_by_role("heading", name="Dashboard", exact=True).is_visible()
    assert _page_width(page) <= PHONE["width"]
    snap(page, "phone-dashboard")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true" and nav.is_visible()
    snap(page, "phone-menu")
    page.keyboard.press("Escape")
    assert not nav.is_visible() and menu.get_attribute("aria-expanded") == "false"
    menu.click()
    page.get_by_role("link", name="Message log").click()
    page.wait_for_url(re.compile(r"/admin/messages/$"))
    assert not page.locator("#main-nav").is_visible()
    # the log's table scrolls inside its box; the page does not
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    assert _page_width(page) <= PHONE["width"]
    # dates in the store's format (nb: dd.mm.yyyy), not the browser's
    after = page.get_by_label("From date")
    assert after.get_attribute("type") == "text" and after.get_attribute("placeholder") == "dd.mm.yyyy"
    after.fill("01.01.2020")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"after=01\.01\.2020"))
    assert page.get_by_label("From date").input_value() == "01.01.2020"
    assert page.locator("table tbody tr").count() >= 6  # the orders' messages, all after 2020
    snap(page, "phone-messages")
    # on a wide screen the menu is open and the button gone
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.locator("#main-nav").is_visible() and not page.get_by_role("button", name="Menu").is_visible()
