"""Browser journeys (Debian's Chromium through Playwright) of issue 24: the shipping wizard (a
partial, then the final shipment: the two e-mails), cancelling with a reason, and a drop-shipper
who follows the invitation link and enters a shipment. The mail goes to the real SMTP test server."""

from __future__ import annotations

import re

import pytest
from test_browser import browser, panel  # noqa: F401  (the fixtures: a signed-in panel page)

from factories import order
from fixtures.browser import drain_elsewhere
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)


def _two_lines(order_id: str) -> dict:
    data = order(order_id, status="processing")
    data["lines"].append(
        {
            "id": "2",
            "sku": "TEE-01",
            "name": "T-shirt",
            "quantity": 1,
            "unit_price": "5.00",
            "supplier": "Tees AS",
        }
    )
    return data


def _texts(smtp_server, count: int) -> dict[str, str]:
    received = smtp_server.wait_for(count)
    return {str(r.message["Subject"]): r.message.get_body(("plain",)).get_content() for r in received}


def _open_order(page, number: str) -> None:
    page.goto("/admin/orders/")
    page.get_by_role("link", name=number, exact=True).click()


def test_shipping_wizard_partial_then_final(panel, smtp_store, smtp_server):  # noqa: F811
    ingest(orders=[_two_lines("61")])
    drain_elsewhere()
    smtp_server.wait_for(2)  # order_confirmed and admin_order_placed
    page = panel
    _open_order(page, "61")
    page.get_by_text("Ship (shipping wizard)…").click()
    page.get_by_label("Quantity of Mug to ship").fill("1")
    page.get_by_label("Quantity of T-shirt to ship").fill("0")
    page.get_by_label("Carrier").fill("Posten")
    page.get_by_label("Tracking number").fill("PN-FIRST")
    page.get_by_label("Tracking URL").fill("https://sporing.posten.no/PN-FIRST")
    page.get_by_role("button", name="Preview the shipment…").click()
    preview = page.locator("#action-preview")
    assert "Order partly shipped" in preview.inner_text()
    assert "customer61@example.com" in preview.inner_text()
    assert not Message.objects.filter(
        notification="order_partially_shipped"
    ).exists()  # not before confirming
    page.get_by_role("button", name=re.compile(r"^Confirm: change the order and send 1 e-mail")).click()
    assert "Shipment entered" in page.inner_text("main")
    # the wizard now offers only what is left: one mug and the T-shirt
    page.get_by_text("Ship (shipping wizard)…").click()
    assert page.get_by_label("Quantity of Mug to ship").input_value() == "1"
    page.get_by_label("Carrier").fill("Posten")
    page.get_by_label("Tracking number").fill("PN-SECOND")
    page.get_by_role("button", name="Preview the shipment…").click()
    assert "Order shipped" in page.locator("#action-preview").inner_text()
    page.get_by_role("button", name=re.compile(r"^Confirm: change the order")).click()
    assert "Everything has shipped." in (page.locator("#run-order").text_content() or "")
    assert "by boss@shop.test (panel)" in page.inner_text("main")
    drain_elsewhere()
    texts = _texts(smtp_server, 4)
    partial = next(text for subject, text in texts.items() if "PN-FIRST" in text)
    final = next(text for subject, text in texts.items() if "PN-SECOND" in text)
    assert partial != final
    assert {m.notification for m in Message.objects.filter(to_email="customer61@example.com")} == {
        "order_confirmed",
        "order_partially_shipped",
        "order_shipped",
    }


def test_cancel_with_a_reason(panel, smtp_store, smtp_server):  # noqa: F811
    ingest(orders=[order("62", status="pending")])
    drain_elsewhere()
    smtp_server.wait_for(2)
    page = panel
    _open_order(page, "62")
    page.get_by_text("Cancel the order…").click()
    page.get_by_label("Reason, told to the customer").fill(
        "The blue mug is no longer made; you have not been charged."
    )
    page.get_by_role("button", name="Preview the cancellation…").click()
    assert "no longer made" in page.locator("#action-preview").inner_text()
    page.get_by_role("button", name=re.compile(r"^Confirm: change the order")).click()
    assert "nothing more can be done" in page.inner_text("main")
    drain_elsewhere()
    texts = _texts(smtp_server, 3)
    cancelled = next(text for subject, text in texts.items() if "cancelled" in subject)
    assert "The blue mug is no longer made; you have not been charged." in cancelled


def test_drop_shipper_follows_the_invitation_and_ships(panel, smtp_store, smtp_server):  # noqa: F811
    from shopmail.dropship import service

    ingest(orders=[_two_lines("63")])
    service.create("Tees AS", "ship@tees.example", ["Tees AS"])
    drain_elsewhere()
    received = smtp_server.wait_for(3)
    invite = next(r for r in received if r.rcpt_tos == ("ship@tees.example",))
    link = re.search(r"https?://\S+/dropship/invite/\S+/", invite.message.get_body(("plain",)).get_content())
    assert link
    page = panel.context.browser.new_context(base_url=panel.url.split("/admin")[0]).new_page()
    page.goto("/" + link.group(0).split("/", 3)[3])
    page.get_by_label("Password", exact=True).fill("kettle-brass-orbit-91")
    page.get_by_label("The same again").fill("kettle-brass-orbit-91")
    page.get_by_role("button", name="Save and sign in").click()
    main = page.inner_text("main")
    assert "Order 63" in main and "T-shirt" in main
    assert "Mug" not in main and "customer63@example.com" not in main
    page.get_by_label("Carrier").fill("Bring")
    page.get_by_label("Tracking number").fill("TEES-1")
    page.get_by_role("button", name="Save shipment for order 63").click()
    assert "the customer is told" in page.inner_text("main")
    assert "Nothing is waiting for you to ship." in page.inner_text("main")
    drain_elsewhere()
    received = smtp_server.wait_for(4)
    shipped = next(
        r for r in received if r.rcpt_tos == ("customer63@example.com",) and "TEES-1" in str(r.message)
    )
    assert "Tees AS" in shipped.message.get_body(("plain",)).get_content()
    page.context.close()
