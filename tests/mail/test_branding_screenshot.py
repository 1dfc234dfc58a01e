"""A branded e-mail as a mail client shows it, in headless Chromium: the logo (served over HTTP
as a real client fetches it), the accent colour and the footer text. Saved as
docs/screenshots/email-branded.png (issue 20)."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from factories import evolve, order, shipment
from fixtures.browser import SHOTS, launch
from fixtures.customer_kit import rendered
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message

pytestmark = pytest.mark.django_db(transaction=False)

LOGO = """<svg xmlns="http://www.w3.org/2000/svg" width="180" height="40" viewBox="0 0 180 40">
<rect width="40" height="40" rx="8" fill="#ffffff"/><path d="M8 30 L20 10 L32 30 Z" fill="#0a7d5a"/>
<text x="50" y="27" font-family="Georgia, serif" font-size="20" fill="#ffffff">Fjord &amp; Fell</text>
</svg>"""


@pytest.fixture
def logo_server(tmp_path):
    (tmp_path / "logo.svg").write_text(LOGO)
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/logo.svg"
    httpd.shutdown()


def test_branded_shipment_email_screenshot(store, logo_server):
    from playwright.sync_api import sync_playwright

    store.company_name = "Fjord & Fell"
    store.branding = {
        "logo_url": logo_server,
        "accent_color": "#0a7d5a",
        "footer_text": "Fjord & Fell AS · Storgata 12, 0155 Oslo\nOrg.nr. 912 345 678 MVA",
    }
    store.save()
    first = order("SH-1", status="processing")
    first["customer"]["language"] = "nb"
    first["customer"]["first_name"] = "Kari"
    done = evolve(
        first, 60, shipments=[{**shipment("s1", {"1": 2}, tracking="70730259304981"), "carrier": "Posten"}]
    )
    assert not ingest(orders=[first]).rejected
    assert not ingest(orders=[done]).rejected
    mail = rendered(Message.objects.get(notification="order_shipped"))
    assert logo_server in mail.html and "#0a7d5a" in mail.html and "Org.nr. 912 345 678 MVA" in mail.html

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 680, "height": 900})
            page.set_content(mail.html, wait_until="load")
            logo = page.locator("img.logo")
            assert logo.evaluate("img => img.complete && img.naturalWidth > 0"), "the logo did not load"
            header = page.locator("td.header")
            assert header.evaluate("td => getComputedStyle(td).backgroundColor") == "rgb(10, 125, 90)"
            assert "Org.nr. 912 345 678 MVA" in page.locator("td.footer").inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "email-branded.png"), full_page=True)
        finally:
            browser.close()
    assert (SHOTS / "email-branded.png").stat().st_size > 10_000
