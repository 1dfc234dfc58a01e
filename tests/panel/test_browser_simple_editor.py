"""The simple template editor in Debian's Chromium (issue 27, 1): an owner adds a sentence to the
Norwegian order confirmation with the toolbar and a clicked variable, previews it, saves it, and
the next confirmation delivered to the SMTP test server carries it. Screenshot:
docs/screenshots/template-simple.png."""

from __future__ import annotations

import re

import pytest
from test_browser import browser, panel, snap  # noqa: F401  (the fixtures: a signed-in panel page)

from factories import order
from fixtures.browser import drain_elsewhere
from shopmail.flows.ingest import ingest
from shopmail.mail.models import TemplateVersion

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_adds_a_sentence_to_the_norwegian_confirmation(panel, smtp_store, smtp_server):  # noqa: F811
    page = panel
    page.goto("/admin/templates/")
    page.get_by_role("link", name="Edit Order confirmation in nb").click()
    page.get_by_role("link", name="Simple editor (extra text, no code)").click()
    page.wait_for_url(re.compile(r"/admin/templates/order_confirmed/nb/simple/$"))
    extra = page.get_by_label("Extra text")
    extra.fill("Takk, ")
    extra.press("End")
    page.locator('[data-variable="customer.first_name"]').click()  # inserted at the cursor
    extra.press("End")
    extra.type("! Vi planter et tre for hver ordre.")
    # select "et tre" and make it bold with the toolbar
    page.evaluate(
        """() => { const t = document.getElementById('id_extra_text');
                   const at = t.value.indexOf('et tre'); t.focus(); t.setSelectionRange(at, at + 6); }"""
    )
    page.get_by_role("button", name="B bold").click()
    assert extra.input_value() == "Takk, {{ customer.first_name }}! Vi planter **et tre** for hver ordre."
    page.get_by_label("Above the standard text").check()
    page.get_by_role("button", name="Preview", exact=True).click()
    frame = page.frame_locator("#preview-frame")
    frame.get_by_text("Vi planter").wait_for()
    assert "Takk, Ana! Vi planter et tre for hver ordre." in frame.locator("body").inner_text()
    assert frame.locator("strong", has_text="et tre").count() == 1
    assert "Vi planter et tre" in page.locator("#preview-text").text_content()
    page.get_by_role("button", name="Save", exact=True).click()
    assert "New e-mails use it from now on" in page.inner_text("main")
    assert extra.input_value() == "Takk, {{ customer.first_name }}! Vi planter **et tre** for hver ordre."
    snap(page, "template-simple")
    assert TemplateVersion.objects.get().simple

    snapshot = order("57", status="processing")
    snapshot["customer"].update(language="nb-NO", first_name="Kari")
    ingest(orders=[snapshot])
    drain_elsewhere()
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(2)}
    mail = mails["customer57@example.com"]
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert re.search(r"Takk, Kari! Vi planter <strong[^>]*>et tre</strong> for hver ordre\.", html)
    assert html.index("Vi planter") < html.index("<h1")  # above the standard body
    assert "Takk, Kari! Vi planter et tre for hver ordre." in text
    assert "Hei Kari," in text  # the standard Norwegian text is still there
