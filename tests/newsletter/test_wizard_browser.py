"""In a real browser against a real `shopmail serve`: staff sign in, compose a newsletter, pick
recipients with the live count, preview as a customer, test-send it (the test mail reaches the
SMTP server), send it, and see the delivery counts."""

from __future__ import annotations

import re

import pytest
from newsletter_support import customer, parsed

from fixtures.browser import drain_elsewhere, launch

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "violet-otter-harbour-42"


def test_wizard_journey_with_test_send(server, smtp_store, smtp_server, staff_user):
    from playwright.sync_api import expect, sync_playwright

    for n in range(1, 7):
        customer(n, first_name=f"Kunde{n}", country="NO" if n % 2 else "SE", language="nb" if n < 4 else "en")
    customer(7, country="NO", newsletter_opt_in=False)
    site = server("--no-worker")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{site.url}/admin/newsletters/")
        expect(page).to_have_url(re.compile(r"/admin/login/"))
        page.get_by_label("E-mail address").fill(staff_user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Newsletters", exact=True)).to_be_visible()

        # 1. compose
        page.get_by_role("link", name="New newsletter").click()
        page.get_by_label("Subject").fill("Vinternytt")
        page.get_by_role("textbox", name="HTML").fill(
            "<h1>Nye ullsokker</h1><p>Varme føtter hele vinteren.</p>"
        )
        expect(page.get_by_role("textbox", name="Text part")).to_have_attribute("readonly", "")
        page.get_by_role("button", name="Save and choose recipients").click()

        # 2. recipients, with the count following the filters as they are typed
        count = page.locator("#recipient-count")
        expect(count).to_have_text("6")
        page.get_by_label("Country").fill("NO")
        expect(count).to_have_text("3")
        page.get_by_label("Language").fill("nb")
        expect(count).to_have_text("2")
        page.get_by_label("Save these filters as a segment named").fill("Norsk")
        page.get_by_role("button", name="Save and preview").click()

        # 3. preview as a chosen recipient, then a test send
        page.get_by_label("A recipient's e-mail address").fill("c3@example.com")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("#preview-subject")).to_have_text("Vinternytt")
        expect(page.locator("#preview-headers")).to_contain_text("List-Unsubscribe=One-Click")
        expect(page.locator("#preview-headers")).to_contain_text("Kunde3")
        frame = page.frame_locator("#preview-frame")
        expect(frame.get_by_role("heading", name="Nye ullsokker")).to_be_visible()
        page.get_by_label("Send a test to").fill("qa@shop.test")
        page.get_by_role("button", name="Send test").click()
        expect(page.get_by_role("status").first).to_contain_text("Test queued for qa@shop.test")
        drain_elsewhere()
        [test_mail] = smtp_server.wait_for(1)
        assert test_mail.rcpt_tos == ("qa@shop.test",)
        message = parsed(test_mail.data)
        assert message["Subject"] == "[Test] Vinternytt"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "Varme føtter" in message.get_body(("plain",)).get_content()
        page.reload()
        expect(page.locator("#tests")).to_contain_text("sent")

        # 4. send now
        page.get_by_role("link", name="Next: send").click()
        expect(page.locator("#send-count")).to_have_text("2")
        page.get_by_label("Yes, send it to these recipients").check()
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator("#count-recipients")).to_have_text("2")
        expect(page.locator("#count-queued")).to_have_text("2")
        expect(page.locator("#delivery-progress")).to_be_visible()
        drain_elsewhere()
        smtp_server.wait_for(3)
        # no reload: the page polls its progress JSON (issue 27) and shows the delivery finish
        expect(page.locator("#count-sent")).to_have_text("2")
        expect(page.locator("#count-queued")).to_have_text("0")
        expect(page.locator("#phase")).to_have_text("sent")
        expect(page.locator("[data-field=eta]")).to_have_text("done")
        expect(page.locator("[data-progress-url]")).to_have_attribute("data-done", "true")
        browser.close()
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages[1:]) == ["c1@example.com", "c3@example.com"]
