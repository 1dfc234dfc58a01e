"""In a real browser against a real `shopmail serve`: a customer accepts an invitation, signs in,
follows an order's status and tracking and asks for a return; staff approve it in the panel; the
approval mail reaches the SMTP server and the customer's order page shows the decision."""

from __future__ import annotations

import re
import time

import pytest

from factories import evolve, shipment
from factories import order as order_snapshot
from fixtures.browser import drain_elsewhere, launch
from shopmail.flows.ingest import ingest
from shopmail.mail.worker import drain

pytestmark = [pytest.mark.django_db(transaction=True)]

CUSTOMER_PASSWORD = "Sea-glass-morning-31"
STAFF_EMAIL = "kari@shop.test"
STAFF_PASSWORD = "Fjord-lantern-hazel-88"

TIMES = "\u00d7"  # the multiplication sign the e-mails use


@pytest.fixture
def _fast_hasher():
    """Not here: the server process checks the staff password with the project's own hashers."""


def _text_of(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def _mail_to(smtp_server, to: str, subject_part: str, timeout: float = 5.0):
    """The mail to ``to`` whose subject contains ``subject_part``, waiting for it to arrive."""
    deadline = time.monotonic() + timeout
    while True:
        for received in smtp_server.messages:
            if received.rcpt_tos == (to,) and subject_part in str(received.message["Subject"]):
                return received
        if time.monotonic() > deadline:
            subjects = [str(m.message["Subject"]) for m in smtp_server.messages]
            raise AssertionError(f"no mail to {to} about {subject_part!r}: {subjects}")
        time.sleep(0.05)


def _path_of(text: str, marker: str) -> str:
    match = re.search(r"https?://[^/\s]+(\S*" + re.escape(marker) + r"\S*)", text)
    assert match, text
    return match.group(1)


def _staff_sign_in(page, base: str, staff_user, context) -> None:
    """Through the panel's sign-in form; if the panel has none (yet), with a session cookie."""
    response = page.goto(f"{base}/admin/login/")
    if response is not None and response.status == 200 and page.locator("input[name=username]").count():
        page.fill("input[name=username]", STAFF_EMAIL)
        page.fill("input[name=password]", STAFF_PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
        assert "/admin/login/" not in page.url, page.content()
        return
    from django.test import Client

    client = Client()
    client.force_login(staff_user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])


def test_invite_sign_in_order_return_approval(server, api_key, smtp_store, smtp_server, django_user_model):
    from playwright.sync_api import expect, sync_playwright

    first = order_snapshot("E-1", status="processing", minute=0)
    first["customer"] = {"id": "c-eva", "email": "eva@example.com", "first_name": "Eva", "last_name": "Lind"}
    shipped = evolve(first, 90, shipments=[shipment("s1", {"1": 2}, tracking="1ZE2E")])
    shipped["lines"][0]["delivered_quantity"] = 2
    assert not ingest(orders=[first]).rejected
    assert not ingest(orders=[shipped]).rejected
    staff_user = django_user_model.objects.create_user(
        STAFF_EMAIL, STAFF_EMAIL, STAFF_PASSWORD, is_staff=True, first_name="Kari"
    )

    srv = server("--no-worker")
    status, body = srv.request(
        "POST", "/events", api_key, {"type": "customer.invite", "data": {"customer": "c-eva"}}
    )
    assert status == 202 and body["messages"][0]["notification"] == "account_invite", body
    drain()
    invite_path = _path_of(_text_of(_mail_to(smtp_server, "eva@example.com", "account")), "/account/invite/")

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            customer = browser.new_context()
            page = customer.new_page()
            # the invitation: choose a password, then sign in with it (no automatic sign-in)
            page.goto(srv.url + invite_path)
            expect(page.get_by_role("heading", name="Accept your invitation")).to_be_visible()
            page.fill("#id_new_password1", CUSTOMER_PASSWORD)
            page.fill("#id_new_password2", CUSTOMER_PASSWORD)
            page.get_by_role("button", name="Save password").click()
            expect(page).to_have_url(re.compile(r"/account/login/$"))
            expect(page.locator(".flash")).to_contain_text("Your password is set")
            page.fill("#id_email", "eva@example.com")
            page.fill("#id_password", CUSTOMER_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Your orders")).to_be_visible()

            # the order: status timeline and tracking
            page.get_by_role("link", name="E-1").click()
            timeline = page.locator("#timeline")
            expect(timeline).to_contain_text("Order placed")
            expect(timeline).to_contain_text("Order confirmed")
            expect(timeline).to_contain_text("Your order has been shipped")
            tracking = page.get_by_role("link", name="1ZE2E")
            expect(tracking).to_have_attribute("href", "https://track.example.com/1ZE2E")
            order_url = page.url

            # the return request
            page.get_by_role("link", name="Return items").click()
            page.fill("#qty_0", "1")
            page.fill("#reason", "One mug arrived with a chipped handle.")
            page.get_by_role("button", name="Send return request").click()
            expect(page.locator(".flash")).to_contain_text("return request RMA-")
            expect(page.locator(".rma")).to_contain_text("Waiting for our answer")
            number = re.search(r"RMA-\d+", page.locator(".rma").inner_text()).group(0)

            # staff approve it in the panel
            staff = browser.new_context()
            desk = staff.new_page()
            _staff_sign_in(desk, srv.url, staff_user, staff)
            desk.goto(f"{srv.url}/admin/returns/")
            desk.get_by_role("link", name=number).click()
            expect(desk.locator("main")).to_contain_text("One mug arrived with a chipped handle.")
            desk.fill("#id_comment", "Please send it back with the enclosed label.")
            desk.get_by_role("button", name="Approve").click()
            expect(desk.locator("#rma-status")).to_contain_text("approved")

            # the approval mail arrives, and the order page shows the decision
            drain_elsewhere()
            approval = _mail_to(smtp_server, "eva@example.com", "is approved")
            text = _text_of(approval)
            assert number in str(approval.message["Subject"])
            assert "Please send it back with the enclosed label." in text and f"1 {TIMES} Mug" in text
            page.goto(order_url)
            expect(page.locator(".rma")).to_contain_text("Approved")
            expect(page.locator(".rma")).to_contain_text("Please send it back with the enclosed label.")
        finally:
            browser.close()
