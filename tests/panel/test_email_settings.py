"""E-mail settings and notification switches: saved through the same code as the API."""

from __future__ import annotations

import pytest

from shopmail.core import secretbox
from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db

STORE_FORM = {
    "company_name": "Fig & Cedar",
    "company_url": "https://figandcedar.example",
    "admin_email": "orders@figandcedar.example",
    "from_name": "Fig & Cedar",
    "from_email": "hello@figandcedar.example",
    "reply_to": "",
    "default_language": "nb",
    "brand_color": "#aa3300",
    "notify_since": "2024-05-01T12:30",
    "allow_backorder_choice": "",
}


def test_store_settings_are_saved(staff):
    response = staff.post("/admin/settings/", STORE_FORM)
    assert response.status_code == 302
    settings = StoreSettings.load()
    assert settings.company_name == "Fig & Cedar" and settings.default_language == "nb"
    assert settings.notify_since.isoformat() == "2024-05-01T12:30:00+00:00"
    assert settings.allow_backorder_choice is False and settings.brand_color == "#aa3300"
    page = staff.get("/admin/settings/").content.decode()
    assert 'value="2024-05-01T12:30"' in page and "Fig &amp; Cedar" in page


def test_unchanged_notify_since_keeps_its_seconds(staff, store):
    import datetime as dt

    store.notify_since = dt.datetime(2025, 1, 2, 3, 4, 5, 600, tzinfo=dt.UTC)
    store.save()
    staff.post("/admin/settings/", {**STORE_FORM, "notify_since": "2025-01-02T03:04"})
    assert StoreSettings.load().notify_since == store.notify_since


def test_invalid_store_settings_name_the_field_and_change_nothing(staff):
    response = staff.post(
        "/admin/settings/", {**STORE_FORM, "company_url": "ftp://nope", "company_name": "X"}
    )
    assert response.status_code == 422
    assert b"company_url" not in response.content or b"errorlist" in response.content
    assert b'aria-invalid="true"' in response.content
    assert StoreSettings.load().company_name == "Test Shop"


def test_smtp_password_is_write_only(staff):
    form = {"kind": "smtp", "host": "mail.example.com", "port": "2525", "security": "starttls"}
    response = staff.post("/admin/settings/transport/", {**form, "username": "shop", "password": "s3cret-pw"})
    assert response.status_code == 302
    transport = StoreSettings.load().transport
    assert secretbox.unseal(transport.pop("password")) == "s3cret-pw"  # sealed at rest
    assert transport == {
        "kind": "smtp",
        "host": "mail.example.com",
        "port": 2525,
        "security": "starttls",
        "username": "shop",
    }
    page = staff.get("/admin/settings/").content.decode()
    assert "s3cret-pw" not in page and "A password is stored" in page and 'value="mail.example.com"' in page
    staff.post("/admin/settings/transport/", {**form, "username": "shop", "password": ""})
    assert secretbox.unseal(StoreSettings.load().transport["password"]) == "s3cret-pw"  # kept
    staff.post("/admin/settings/transport/", {**form, "username": "shop", "clear_password": "on"})
    assert "password" not in StoreSettings.load().transport


def test_transport_can_be_switched_and_bad_values_are_refused(staff):
    assert staff.post("/admin/settings/transport/", {"kind": "sendmail"}).status_code == 302
    assert StoreSettings.load().transport == {"kind": "sendmail"}
    response = staff.post("/admin/settings/transport/", {"kind": "smtp", "host": ""})
    assert response.status_code == 422 and b"host name" in response.content
    response = staff.post("/admin/settings/transport/", {"kind": "smtp", "host": "bad host!", "port": "25"})
    assert response.status_code == 422 and b"errorlist" in response.content
    assert staff.post("/admin/settings/transport/", {"kind": "capture"}).status_code == 302
    assert StoreSettings.load().transport == {"kind": "capture"}


def test_detect_probes_the_saved_server(staff, smtp_store, smtp_server):
    response = staff.post("/admin/settings/detect/", {"kind": "capture"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "What was found" in page and f"{smtp_server.host}:{smtp_server.port}" in page
    assert "answered 220" in page and "sendmail" in page and "localhost:25" in page
    assert "MAIL" not in smtp_server.commands


def test_send_test_shows_the_server_reply(staff, smtp_store, smtp_server):
    response = staff.post("/admin/settings/test/", {"to": "me@shop.test"})
    assert response.status_code == 200
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("me@shop.test",)
    assert "Test e-mail from Test Shop" in received.message["Subject"]
    page = response.content.decode()
    assert "Accepted" in page and "250" in page and "queued as test-1" in page


def test_send_test_reports_a_refusal(staff, smtp_store, smtp_server):
    smtp_server.reject_recipient("me@shop.test", 550, "5.1.1 No such mailbox here")
    page = staff.post("/admin/settings/test/", {"to": "me@shop.test"}).content.decode()
    assert "Not accepted" in page and "No such mailbox here" in page


def test_notification_switches(staff):
    page = staff.get("/admin/notifications/").content.decode()
    assert 'name="n:order_confirmed"' in page and 'name="r:picked"' in page
    assert "The order has been picked" in page and 'name="n:admin_customer_registered"' in page
    on = {f"n:{key}": "on" for key in ("order_confirmed", "order_shipped")}
    response = staff.post("/admin/notifications/", {**on, "r:status_changed": "on"})
    assert response.status_code == 302
    switches = StoreSettings.load().switches()
    assert switches.notification_on("order_confirmed") and not switches.notification_on("order_cancelled")
    assert switches.rule_on("status_changed") and not switches.rule_on("picked")
    page = staff.get("/admin/notifications/").content.decode()
    assert 'id="r-picked" aria-describedby="r-picked-help">' in page
    assert 'id="r-status_changed" aria-describedby="r-status_changed-help" checked>' in page
