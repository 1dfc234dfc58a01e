"""The control panel in a real browser (Debian's headless Chromium) against `shopmail serve`.

Each journey starts its own server on the test database and signs in as staff. Mail is sent by
``drain()`` in this process (the server runs with ``--no-worker``) to the test SMTP server.
Every main page is saved as a screenshot on the way (into docs/screenshots/ with
SHOPMAIL_UPDATE_SCREENSHOTS=1; ``fixtures.browser.SHOTS``).
"""

from __future__ import annotations

import datetime as dt
import os
import re

import orjson
import pytest
from panel_support import STAFF_EMAIL, STAFF_PASSWORD, password_hash

from factories import evolve, order, shipment
from fixtures.browser import SHOTS, drain_elsewhere, launch
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message, Status
from shopmail.store.models import StoreSettings

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser():
    from django.core.management import call_command

    # `shopmail serve` collects static files after WhiteNoise has indexed them: collect them
    # first so that the very first server of a run has its stylesheet (see the report).
    call_command("collectstatic", interactive=False, verbosity=0)
    # Playwright's sync API runs an event loop in this thread; Django's ORM (used by the tests
    # between browser steps) refuses to run under one unless told it is safe, which it is here.
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = playwright_api.sync_playwright().start()
    chromium = launch(manager)
    yield chromium
    chromium.close()
    manager.stop()
    if old is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


@pytest.fixture
def panel(browser, server, store):
    """A signed-in browser page on a fresh `shopmail serve --no-worker`."""
    from django.contrib.auth import get_user_model

    user = get_user_model()(username=STAFF_EMAIL, email=STAFF_EMAIL, is_staff=True, is_superuser=True)
    user.password = password_hash()
    user.save()
    srv = server("--no-worker")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=srv.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    failed: list[str] = []
    page.on(
        "response",
        lambda r: (
            failed.append(r.url) if r.status >= 500 or ("/static/" in r.url and r.status >= 400) else None
        ),
    )
    sign_in(page)
    yield page
    context.close()
    assert not failed, failed


def sign_in(page, shot: bool = False) -> None:
    page.goto("/admin/")
    assert page.url.endswith("/admin/login/?next=/admin/")
    if shot:
        snap(page, "login")
    page.get_by_label("E-mail address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def snap(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def demo_data() -> None:
    """A few believable orders and mail in every state, spread over the last weeks."""
    now = dt.datetime.now(dt.UTC)
    people = [("Ana", "Silva"), ("Lars", "Hansen"), ("Jonas", "Weber"), ("Maya", "Patel"), ("Tom", "Baker")]
    snapshots = []
    for index in range(12):
        first, last = people[index % len(people)]
        snap_ = order(str(10040 + index), status="processing" if index % 3 else "pending")
        snap_["customer"].update(
            id=f"c-{first.lower()}",
            email=f"{first.lower()}.{last.lower()}@example.com",
            first_name=first,
            last_name=last,
        )
        snapshots.append(snap_)
    ingest(orders=snapshots)
    ingest(orders=[evolve(snapshots[1], 30, shipments=[shipment("s1", {"1": 2})])])
    drain_elsewhere()  # composed and "sent" by the capture transport: real headers and attempts
    for number, message in enumerate(Message.objects.order_by("pk")):
        if number % 11 == 5:
            Message.objects.filter(pk=message.pk).update(
                status=Status.FAILED,
                sent_at=None,
                last_error="550 5.1.1 <lars.hansen@example.com>: mailbox unavailable",
            )
        else:
            sent_at = now - dt.timedelta(days=(number * 7) % 30, minutes=number)
            Message.objects.filter(pk=message.pk).update(sent_at=sent_at)
    ingest(orders=[order("10099", status="pending")])  # still queued: no worker in the web process


def test_sign_in_and_tour_every_page(browser, server, store):
    """Sign in (a wrong password first), then every main page, each saved as a screenshot."""
    from django.contrib.auth import get_user_model

    demo_data()
    user = get_user_model()(username=STAFF_EMAIL, email=STAFF_EMAIL, is_staff=True, is_superuser=True)
    user.password = password_hash()
    user.save()
    srv = server("--no-worker")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=srv.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/admin/login/")
    page.get_by_label("E-mail address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That e-mail address and password do not match")
    sign_in(page, shot=True)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator("#sent-chart rect.bar").count() == 30
    assert "mailbox unavailable" in page.inner_text("main")
    snap(page, "dashboard")
    for name, path, heading in [
        ("orders", "/admin/orders/", "Orders"),
        ("messages", "/admin/messages/", "Message log"),
        ("customers", "/admin/customers/", "Customers"),
        ("templates", "/admin/templates/", "E-mail templates"),
        ("notifications", "/admin/notifications/", "Notifications"),
        ("settings", "/admin/settings/", "E-mail settings"),
        ("staff", "/admin/staff/", "Staff users"),
    ]:
        page.goto(path)
        assert page.get_by_role("heading", name=heading, exact=True).is_visible(), name
        snap(page, name)
    page.goto("/admin/orders/")
    page.get_by_label("Search by order number, customer name or e-mail").fill("lars hansen")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="10041").click()
    assert page.get_by_role("heading", name="Change history").is_visible()
    snap(page, "order")
    page.get_by_role("link", name=re.compile(r"#\d+ Order shipped")).first.click()
    assert page.get_by_role("heading", name="The e-mail").is_visible()
    snap(page, "message")
    page.goto("/admin/customers/")
    page.get_by_role("link", name="Maya Patel").click()
    snap(page, "customer")
    page.goto("/admin/api-keys/")
    page.get_by_label("Name").fill("webshop")
    page.get_by_role("button", name="Create key").click()
    assert page.locator("#new-key").inner_text().startswith("sm_")
    snap(page, "api-keys")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/")
    snap(page, "dashboard-phone")
    page.get_by_role("button", name="Menu").click()  # at phone width the menu (and sign-out) is behind it
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/admin/login/$"))
    page.goto("/admin/orders/")
    assert "/admin/login/" in page.url
    context.close()


def test_configure_smtp_and_send_a_test_mail(panel, smtp_server):
    page = panel
    page.goto("/admin/settings/")
    page.get_by_label("SMTP server", exact=True).check()
    page.get_by_label("Host name").fill(smtp_server.host)
    page.get_by_label("Port", exact=True).fill(str(smtp_server.port))
    page.get_by_label("Security").select_option("none")
    page.get_by_role("button", name="Save transport").click()
    assert "Transport saved" in page.get_by_role("status").first.inner_text()
    transport = StoreSettings.load().transport
    assert transport["kind"] == "smtp" and transport["port"] == smtp_server.port
    # Detection contacts the saved server (never a host typed in the form: issue 19, finding 12)
    page.get_by_role("button", name="Detect transports").click()
    found = page.locator("table", has_text="answered 220").inner_text()
    assert f"{smtp_server.host}:{smtp_server.port}" in found
    assert StoreSettings.load().transport == transport  # detection saves nothing
    page.get_by_label("Send a test e-mail to").fill("owner@shop.test")
    page.get_by_role("button", name="Send test e-mail").click()
    result = page.locator("#test-result").inner_text()
    assert "Accepted" in result and "250" in result
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("owner@shop.test",)
    assert received.message["Subject"] == "Test e-mail from Test Shop"
    snap(page, "settings")


def test_switched_off_rule_sends_nothing_on_sync(panel, store):
    first = order("31", status="processing")
    ingest(orders=[first])
    page = panel
    page.goto("/admin/notifications/")
    page.get_by_label(re.compile(r"^picked")).uncheck()
    page.get_by_role("button", name="Save notification settings").click()
    assert "Notification settings saved" in page.inner_text("main")
    assert StoreSettings.load().switches().rule_on("picked") is False
    picked = orjson.dumps({"kind": "order", **evolve(first, 10, picked=True)}) + b"\n"
    page.goto("/admin/sync/")
    page.set_input_files(
        "#id_file", {"name": "picked.ndjson", "mimeType": "application/x-ndjson", "buffer": picked}
    )
    page.get_by_role("button", name="Dry run").click()
    result = page.locator("#sync-result").inner_text()
    assert "nothing was changed" in result and "No e-mail would be sent" in result
    snap(page, "sync")
    page.get_by_role("button", name="Apply this file").click()
    result = page.locator("#sync-result").inner_text()
    assert "Applied" in result and "No e-mail was sent" in result
    assert not Message.objects.filter(notification="order_updated").exists()
    page.goto("/admin/orders/")
    page.get_by_role("link", name="31", exact=True).click()
    history = page.locator("table", has_text="What was sent").inner_text()
    assert "rule is switched off" in history


def test_template_error_refused_then_change_previewed_and_sent(panel, smtp_store, smtp_server):
    page = panel
    page.goto("/admin/templates/")
    page.get_by_role("link", name="Edit Order confirmation in en").click()
    html = page.locator("#id_html")
    html.fill("<p>Hello {{ customer.first_name }}</p>\n<p>{% if order.number %}unclosed</p>\n")
    page.get_by_role("button", name="Save", exact=True).click()
    alert = page.get_by_role("alert").inner_text()
    assert "Not saved" in alert and re.search(r"HTML: line \d+:", alert), alert
    html.fill("<p>Hello {{ customer.first_name }}, order {{ order.number }} is in: WINTER-PREVIEW-7.</p>")
    frame = page.frame_locator("#preview-frame")
    frame.get_by_text("WINTER-PREVIEW-7").wait_for()
    assert "Hello Ana, order 10023" in frame.locator("body").inner_text()
    page.get_by_role("button", name="Save", exact=True).click()
    assert "New e-mails use it from now on" in page.inner_text("main")
    page.frame_locator("#preview-frame").get_by_text("WINTER-PREVIEW-7").wait_for()
    snap(page, "template-editor")
    ingest(orders=[order("41", status="processing")])
    drain_elsewhere()
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(2)}
    body = mails["customer41@example.com"].get_body(("html",)).get_content()
    assert "WINTER-PREVIEW-7" in body and "order 41" in body


def test_resend_an_order_mail_with_a_custom_message(panel, smtp_store, smtp_server):
    ingest(orders=[order("51", status="processing")])
    drain_elsewhere()
    smtp_server.wait_for(2)
    page = panel
    page.goto("/admin/orders/")
    page.get_by_role("link", name="51", exact=True).click()
    row = page.locator("tr", has_text="Order confirmation")
    row.get_by_text("Resend…").click()
    row.get_by_label("Personal message (optional)").fill("Sorry for the wait, Ana: it ships Monday.")
    row.get_by_role("button", name=re.compile(r"Resend message \d+")).click()
    assert "was queued as message" in page.inner_text("main")
    drain_elsewhere()
    received = smtp_server.wait_for(3)[-1]
    assert received.rcpt_tos == ("customer51@example.com",)
    assert "Sorry for the wait, Ana: it ships Monday." in received.message.get_body(("plain",)).get_content()
    copy = Message.objects.get(resend_of__isnull=False)
    assert copy.status == Status.SENT and copy.message_id == received.message_id
    page.goto(f"/admin/messages/{copy.pk}/")
    assert (
        "Sorry for the wait" in page.inner_text("main")
        and "250" in page.locator("table", has_text="Server reply").inner_text()
    )
