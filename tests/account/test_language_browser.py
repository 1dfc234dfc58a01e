"""In a real browser against a real `shopmail serve`: My page in Norwegian and German (SPEC 7;
issue 20, item 5). The customer signs in and reads the order list and one order: headings,
the status timeline, amounts and the navigation in their language, no English sentence."""

from __future__ import annotations

import pytest

from factories import evolve, shipment
from factories import order as order_snapshot
from fixtures.browser import launch
from fixtures.customer_kit import make_account
from shopmail.flows.ingest import ingest
from shopmail.store.models import Customer

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "Harbour-lantern-violet-58"

EXPECTED = {
    "nb": {
        "heading": "Dine bestillinger",
        "nav": ["Bestillinger", "Kundeservice", "Innstillinger", "Logg ut"],
        "timeline": [
            "Bestilling lagt inn",
            "Bestillingen er bekreftet",
            "Deler av bestillingen din er sendt",
        ],
        "amount": "1\u00a0349,00\u00a0kr",
        "order": "Bestilling",
    },
    "de": {
        "heading": "Ihre Bestellungen",
        "nav": ["Bestellungen", "Kundenservice", "Einstellungen", "Abmelden"],
        "timeline": [
            "Bestellung aufgegeben",
            "Bestellung bestätigt",
            "Ein Teil Ihrer Bestellung ist unterwegs",
        ],
        "amount": "1.349,00\u00a0NOK",
        "order": "Bestellung",
    },
}
ENGLISH = ["Your orders", "Order placed", "Order confirmed", "Shipments", "Sign out", "Help desk", "Items"]


@pytest.fixture
def _fast_hasher():
    """Not here: the server process checks the password with the project's own hashers."""


@pytest.mark.parametrize("language", ["nb", "de"])
def test_my_page_in_the_browser(server, store, language):
    from playwright.sync_api import expect, sync_playwright

    first = order_snapshot(f"W-{language}", status="processing", minute=0)
    first["currency"] = "NOK"
    first["totals"] = {"subtotal": "1349.00", "shipping": "0.00", "tax": "0.00", "total": "1349.00"}
    first["customer"] = {
        "id": f"c-{language}",
        "email": f"{language}@example.com",
        "first_name": "Kari",
        "language": f"{language}-{'NO' if language == 'nb' else 'DE'}",
    }
    later = evolve(first, 30, shipments=[shipment("s1", {"1": 1}, tracking="1ZW")])
    assert not ingest(orders=[first]).rejected
    assert not ingest(orders=[later]).rejected
    make_account(Customer.objects.get(external_id=f"c-{language}"), PASSWORD)
    words = EXPECTED[language]

    srv = server("--no-worker")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_context(locale="en-GB").new_page()  # the browser asks for English
            page.goto(srv.url + "/account/login/")
            page.fill("#id_email", f"{language}@example.com")
            page.fill("#id_password", PASSWORD)
            page.locator("main form button[type=submit]").click()
            expect(page.get_by_role("heading", name=words["heading"])).to_be_visible()
            expect(page.locator("html")).to_have_attribute("lang", language)
            for item in words["nav"]:
                expect(page.locator("nav.main")).to_contain_text(item)
            expect(page.locator("main table")).to_contain_text(words["amount"])

            page.get_by_role("link", name=f"W-{language}").click()
            expect(page.get_by_role("heading", name=f"{words['order']} W-{language}")).to_be_visible()
            timeline = page.locator("#timeline")
            for step in words["timeline"]:
                expect(timeline).to_contain_text(step)
            text = page.locator("body").inner_text()
            for english in ENGLISH:
                assert english not in text, (language, english)
        finally:
            browser.close()
