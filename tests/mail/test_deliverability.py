"""Deliverability against real components (SPEC section 9): DKIM verified by dkimpy on the bytes the
SMTP server received, VERP senders, bounce reports in by HTTP and by SMTP into the listener, and the
suppression list's effect on order mail and newsletters."""

from __future__ import annotations

import datetime as dt
import smtplib
import subprocess
import time
from pathlib import Path

import dkim as dkimpy
import pytest

from factories import order
from fixtures.delivery import free_port, shopmail_process
from shopmail.domain import dkim
from shopmail.mail import actions, signing
from shopmail.mail.deliverability import verp
from shopmail.mail.deliverability.models import BounceReport, Suppression
from shopmail.mail.models import Message, Status
from shopmail.mail.worker import drain
from shopmail.newsletter import drafts, sending
from shopmail.newsletter.models import Consent, Recipient
from shopmail.store.models import Customer, FeedEvent, StoreSettings

pytestmark = pytest.mark.django_db(transaction=True)

BOUNCES = Path(__file__).parent.parent / "fixtures" / "bounces"
_KEY = dkim.generate_key(2048)


def report(name: str) -> bytes:
    """A real-world sample, with CRLF line ends as it travels by SMTP."""
    return BOUNCES.joinpath(name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def with_dkim(settings: StoreSettings) -> dkim.Signer:
    return signing.store_key(settings, "shop.test", "sm1", _KEY)


def verifies(data: bytes, signer: dkim.Signer) -> bool:
    record = signer.dns_record().encode()
    return bool(dkimpy.verify(data, dnsfunc=lambda name, timeout=5: record))


def test_order_and_staff_mail_arrive_signed_and_verify(api, smtp_store, smtp_server):
    signer = with_dkim(smtp_store)
    body = order("5001", status="processing")
    body["customer"]["first_name"] = "Åse Ødegård-Bjørnstad med et svært langt etternavn som må brettes"
    api.put("/orders/5001", body)
    drain()
    received = smtp_server.wait_for(2)
    assert {m.rcpt_tos[0] for m in received} == {"customer5001@example.com", "staff@shop.test"}
    for message in received:
        assert message.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.test;")
        assert verifies(message.data, signer), message.rcpt_tos
    stored = Message.objects.get(notification="order_confirmed").payload.raw
    assert bytes(stored).startswith(b"DKIM-Signature:")  # signed once, at compose time


def test_a_resend_is_signed_and_verifies(api, smtp_store, smtp_server):
    signer = with_dkim(smtp_store)
    api.put("/orders/5002", order("5002", status="processing"))
    drain()
    smtp_server.wait_for(2)
    first = Message.objects.get(notification="order_confirmed")
    assert (
        api.post(f"/messages/{first.pk}/resend", {"custom_message": "Sorry, here it is again."}).status_code
        == 201
    )
    drain()
    [resent] = [m for m in smtp_server.wait_for(3)[2:]]
    assert verifies(resent.data, signer)


def test_a_newsletter_is_signed_with_its_list_unsubscribe_headers(smtp_store, smtp_server):
    signer = with_dkim(smtp_store)
    Customer.objects.create(
        external_id="n1",
        email="reader@example.com",
        first_name="Jürgen",
        newsletter_opt_in=True,
        newsletter_opt_in_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    letter = drafts.save(None, subject="Winter news", html="<h1>Winter</h1><p>Socks.</p>", filters={})
    sending.send(letter)
    drain()
    [received] = smtp_server.wait_for(1)
    header = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"List-Unsubscribe:" in header
    h_tag = dkim.parse_tags(header.split(b"\r\nDate:")[0].decode().removeprefix("DKIM-Signature:"))["h"]
    assert "list-unsubscribe" in h_tag.split(":") and "list-unsubscribe-post" in h_tag.split(":")
    assert verifies(received.data, signer)


def test_the_test_e_mail_is_signed(smtp_store, smtp_server):
    import asyncio

    from shopmail.mail import testmail

    signer = with_dkim(smtp_store)
    result = asyncio.run(testmail.send_test("owner@example.com", StoreSettings.load()))
    assert str(result.outcome) == "sent"
    [received] = smtp_server.wait_for(1)
    assert verifies(received.data, signer)


def test_without_dkim_settings_nothing_is_signed(api, smtp_store, smtp_server):
    api.put("/orders/5003", order("5003", status="processing"))
    drain()
    assert not any(m.data.startswith(b"DKIM-Signature") for m in smtp_server.wait_for(2))


def test_verp_sender_names_the_message(api, smtp_store, smtp_server):
    smtp_store.bounces = {"domain": "bounces.shop.test"}
    smtp_store.save()
    api.put("/orders/5004", order("5004", status="processing"))
    drain()
    by_to = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    customer = by_to["customer5004@example.com"]
    message = Message.objects.get(notification="order_confirmed")
    assert customer.mail_from.startswith("bounces+") and customer.mail_from.endswith("@bounces.shop.test")
    assert verp.message_pk(customer.mail_from) == message.pk
    forged = customer.mail_from.replace("bounces+", "bounces+1", 1)
    assert verp.message_pk(forged) is None


def test_hard_bounce_by_api_marks_the_message_and_suppresses_the_address(api, smtp_store, smtp_server):
    smtp_store.bounces = {"domain": "bounces.shop.test"}
    smtp_store.save()
    api.put("/orders/5005", order("5005", status="processing"))
    drain()
    smtp_server.wait_for(2)
    message = Message.objects.get(notification="order_confirmed")
    [envelope] = [m.mail_from for m in smtp_server.messages if m.rcpt_tos == ("customer5005@example.com",)]
    response = api.client.post(
        "/api/v1/hooks/bounces",
        # as the bounce domain's mailbox holds it: Postfix's local delivery adds Delivered-To
        data=b"Delivered-To: " + envelope.encode() + b"\r\n" + report("postfix-user-unknown.eml"),
        content_type="message/rfc822",
        **api.headers,
    )
    assert response.status_code == 200, response.content
    outcome = response.json()
    assert outcome["kind"] == "bounce" and outcome["message"] == message.pk
    message.refresh_from_db()
    assert message.status == Status.BOUNCED and "5.1.1" in message.last_error
    row = Suppression.objects.get()
    assert (row.email, row.reason, row.scope) == ("customer5005@example.com", "hard_bounce", "all")
    assert {e.type for e in FeedEvent.objects.all()} >= {"message.bounced", "customer.suppressed"}

    # The next order mail to that address is held with the reason, the staff copy still goes.
    api.put("/orders/5006", {**order("5006", status="processing"), "customer": order("5005")["customer"]})
    held = Message.objects.get(notification="order_confirmed", order__external_id="5006")
    assert held.status == Status.HELD and held.last_error == "suppressed"
    drain()
    assert [m.rcpt_tos for m in smtp_server.wait_for(3)[2:]] == [("staff@shop.test",)]

    # Removing the suppression and retrying the held message sends it.
    assert api.delete("/suppressions/customer5005@example.com").status_code == 204
    assert actions.retry(held)  # what the panel's "Retry" does for staff
    drain()
    assert smtp_server.wait_for(4)[3].rcpt_tos == ("customer5005@example.com",)


def _with_message_id(raw: bytes, message_id: str) -> bytes:
    """The sample's quoted original Message-ID replaced by ours (the rest of the report as it is)."""
    from shopmail.domain import bounces

    original = bounces.parse_report(raw).original_message_id
    assert original, "the sample quotes its original message"
    return raw.replace(original.encode(), message_id.encode())


def test_bounce_api_refuses_what_is_not_a_report(api, smtp_store):
    wrong_type = api.client.post(
        "/api/v1/hooks/bounces", data=b"{}", content_type="application/json", **api.headers
    )
    assert wrong_type.status_code == 415 and "message/rfc822" in wrong_type.json()["detail"][0]["msg"]
    empty = api.client.post(
        "/api/v1/hooks/bounces", data=b"\r\n", content_type="message/rfc822", **api.headers
    )
    assert empty.status_code == 422
    anonymous = api.client.post(
        "/api/v1/hooks/bounces", data=report("postfix-user-unknown.eml"), content_type="message/rfc822"
    )
    assert anonymous.status_code == 401
    assert not Suppression.objects.exists() and not BounceReport.objects.exists()


def test_an_ordinary_message_and_a_delay_change_nothing(api, smtp_store):
    for name in ("not-a-bounce.eml", "opensmtpd-delayed.eml"):
        response = api.client.post(
            "/api/v1/hooks/bounces", data=report(name), content_type="message/rfc822", **api.headers
        )
        assert response.status_code == 200
        assert response.json()["bounced"] == [] and response.json()["suppressed"] == []
    assert not Suppression.objects.exists()


def test_complaint_unsubscribes_from_newsletters_and_order_mail_still_goes(api, smtp_store, smtp_server):
    raw = report("yahoo-arf-abuse.eml")
    from shopmail.domain import bounces

    parsed = bounces.parse_report(raw)
    [complainer] = [r.email for r in parsed.recipients]
    customer = Customer.objects.create(
        external_id="arf", email=complainer, newsletter_opt_in=True,
        newsletter_opt_in_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    response = api.client.post(
        "/api/v1/hooks/bounces", data=raw, content_type="message/rfc822", **api.headers
    )
    assert response.status_code == 200 and response.json()["kind"] == "complaint"
    customer.refresh_from_db()
    assert customer.newsletter_opt_in is False
    assert Consent.objects.filter(customer=customer, subscribed=False, source="complaint").exists()
    row = Suppression.objects.get()
    assert (row.reason, row.scope) == ("complaint", "newsletter")

    letter = drafts.save(None, subject="News", html="<p>News</p>", filters={})
    customer.newsletter_opt_in = True  # the shop's stale data says opted in: the opt-out still stands
    customer.save()
    sending.send(letter)
    assert not Message.objects.filter(notification="newsletter").exists()

    body = order("5007", status="processing")
    body["customer"]["email"] = complainer
    api.put("/orders/5007", body)
    assert Message.objects.get(notification="order_confirmed").status == Status.QUEUED


def _smtp_deliver(port: int, rcpt: str, data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("MAILER-DAEMON@mx.example.org", [rcpt], data)


def test_bounce_listener_takes_a_dsn_over_smtp_by_verp_address(api, smtp_store, smtp_server):
    smtp_store.bounces = {"domain": "bounces.shop.test"}
    smtp_store.save()
    api.put("/orders/5008", order("5008", status="processing"))
    drain()
    by_to = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    envelope_sender = by_to["customer5008@example.com"].mail_from
    port = free_port()
    listener = shopmail_process("bounces", "--listen", f"127.0.0.1:{port}", stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout is not None
        assert "listening on" in listener.stdout.readline()
        # The real Postfix DSN quotes another message; the VERP address it is delivered to names ours.
        _smtp_deliver(port, envelope_sender, report("postfix-user-unknown.eml"))
        message = Message.objects.get(notification="order_confirmed")
        deadline = time.monotonic() + 10
        while message.status != Status.BOUNCED and time.monotonic() < deadline:
            time.sleep(0.05)
            message.refresh_from_db()
        assert message.status == Status.BOUNCED
        assert Suppression.objects.get().email == "customer5008@example.com"
        assert BounceReport.objects.get().via == "smtp"
    finally:
        listener.terminate()
        listener.wait(10)


def test_multi_recipient_dsn_suppresses_each_failed_address(api, smtp_store):
    raw = report("postfix-two-recipients.eml")
    response = api.client.post(
        "/api/v1/hooks/bounces", data=raw, content_type="message/rfc822", **api.headers
    )
    assert response.status_code == 200
    assert len(response.json()["suppressed"]) == 2
    assert Suppression.objects.filter(reason="hard_bounce", scope="all").count() == 2
    listed = api.get("/suppressions").json()
    assert listed["total"] == 2 and {item["reason"] for item in listed["items"]} == {"hard_bounce"}
    assert api.delete("/suppressions/nobody@example.org").status_code == 404
    metrics = api.client.get("/metrics", **api.headers).content.decode()
    assert 'shopmail_bounce_reports_total{kind="bounce"} 2' in metrics
    assert "shopmail_hard_bounces_total 2" in metrics
    assert 'shopmail_suppressions{reason="hard_bounce"} 2' in metrics


def test_dkim_generate_command_stores_a_key_and_prints_the_record(store):
    result = shopmail_process(
        "dkim", "generate", "--domain", "shop.test", "--selector", "sm9", stdout=subprocess.PIPE, text=True
    )
    out, _ = result.communicate(timeout=60)
    assert result.returncode == 0
    assert out.startswith('sm9._domainkey.shop.test. IN TXT "v=DKIM1; k=rsa; p=')
    settings = StoreSettings.load()
    assert settings.dkim["selector"] == "sm9" and settings.dkim["private_key"].startswith("sealed:")
    signer = signing.signer_for(settings.dkim)
    assert signer is not None
    published = "".join(out.split('"')[1::2])
    assert dkim.record_matches(published, signer)
    bad = shopmail_process(
        "dkim", "generate", "--domain", "localhost", "--selector", "x", stderr=subprocess.PIPE
    )
    assert bad.wait(60) != 0


def test_a_delay_quoting_our_message_id_is_noted_on_that_message_only(api, smtp_store, smtp_server):
    api.put("/orders/5009", order("5009", status="processing"))
    drain()
    smtp_server.wait_for(2)
    message = Message.objects.get(notification="order_confirmed")
    raw = _with_message_id(report("opensmtpd-delayed.eml"), message.message_id)
    response = api.client.post(
        "/api/v1/hooks/bounces", data=raw, content_type="message/rfc822", **api.headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "kind": "delay",
        "message": message.pk,
        "bounced": [],
        "suppressed": [],
        "noted": ["customer5009@example.com"],
    }
    message.refresh_from_db()
    assert message.status == Status.SENT
    noted = BounceReport.objects.get()
    assert (noted.message_id, noted.status, noted.permanent) == (message.pk, "4.4.7", False)
    assert not Suppression.objects.exists()


def test_newsletters_skip_suppressed_addresses_and_count_them(store):
    from shopmail.mail.deliverability import suppression
    from shopmail.newsletter import stats

    for n in (1, 2, 3):
        Customer.objects.create(
            external_id=f"s{n}",
            email=f"Reader{n}@Example.com",
            newsletter_opt_in=True,
            newsletter_opt_in_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        )
    suppression.suppress("reader2@example.com", "hard_bounce", "all", "550 5.1.1 no such user")
    letter = sending.send(drafts.save(None, subject="News", html="<p>News</p>", filters={}))
    skipped = dict(Recipient.objects.filter(newsletter=letter).values_list("email", "skipped"))
    assert skipped == {
        "Reader1@Example.com": "",
        "Reader2@Example.com": "suppressed",
        "Reader3@Example.com": "",
    }
    assert set(Message.objects.filter(notification="newsletter").values_list("to_email", flat=True)) == {
        "Reader1@Example.com",
        "Reader3@Example.com",
    }
    assert stats.delivery_counts(letter)["skipped"] == 1


def test_settings_api_takes_a_key_write_only_and_shows_the_record(api):
    bad = api.patch("/settings", {"dkim": {"domain": "shop.test", "selector": "sm1", "private_key": "nope"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "dkim"]
    assert not StoreSettings.load().dkim  # nothing changed
    no_key = api.patch("/settings", {"dkim": {"domain": "shop.test", "selector": "sm1"}})
    assert no_key.status_code == 422 and "private_key" in no_key.json()["detail"][0]["msg"]

    ok = api.patch(
        "/settings",
        {
            "dkim": {"domain": "Shop.Test", "selector": "sm1", "private_key": _KEY},
            "bounces": {"domain": "b.shop.test"},
        },
    )
    assert ok.status_code == 200, ok.content
    shown = ok.json()["dkim"]
    assert "private_key" not in shown and shown["private_key_set"] is True
    assert shown["domain"] == "shop.test" and shown["dns_name"] == "sm1._domainkey.shop.test"
    assert shown["dns_record"].startswith("v=DKIM1; k=rsa; p=")
    assert ok.json()["bounces"] == {"domain": "b.shop.test"}
    assert _KEY.split("\n")[1] not in api.get("/settings").content.decode()
    stored = StoreSettings.load().dkim
    assert stored["private_key"].startswith("sealed:") and _KEY.split("\n")[1] not in stored["private_key"]

    # a new selector keeps the stored key; an empty key turns signing off
    moved = api.patch("/settings", {"dkim": {"selector": "sm2"}}).json()["dkim"]
    assert moved["selector"] == "sm2" and moved["dns_record"] == shown["dns_record"]
    off = api.patch("/settings", {"dkim": {"private_key": ""}}).json()["dkim"]
    assert off["private_key_set"] is False and "dns_record" not in off
    bad_domain = api.patch("/settings", {"bounces": {"domain": "not a domain"}})
    assert bad_domain.status_code == 422


def _zone(records: dict[tuple[str, str], list[str]]):
    from shopmail.mail.deliverability import dns

    def resolve(name: str, rdtype: str) -> list[str]:
        if name == "down.test":
            raise dns.LookupFailed("timeout")
        return records.get((name, rdtype), [])

    return resolve


def test_dns_check_says_what_is_missing_and_what_matches(store):
    from shopmail.mail.deliverability import dns

    store.from_email = "orders@shop.test"
    store.bounces = {"domain": "bounces.shop.test"}
    store.save()
    findings = {f.topic: f for f in dns.check(store, _zone({}))}
    assert findings["dkim"].level == "warning" and "not DKIM-signed" in findings["dkim"].text
    assert findings["spf"].level == findings["dmarc"].level == "warning"
    assert findings["bounces"].level == "error" and "no MX" in findings["bounces"].text

    signer = with_dkim(store)
    record = signer.dns_record()
    zone = {
        ("sm1._domainkey.shop.test", "TXT"): [record.replace("; ", ";")],
        ("shop.test", "TXT"): ["google-site-verification=x", "v=spf1 mx -all"],
        ("_dmarc.shop.test", "TXT"): ["v=DMARC1; p=quarantine"],
        ("bounces.shop.test", "MX"): ["10 mx.shop.test."],
    }
    assert {f.topic: f.level for f in dns.check(StoreSettings.load(), _zone(zone))} == {
        "dkim": "ok",
        "spf": "ok",
        "dmarc": "ok",
        "bounces": "ok",
    }
    other = dkim.Signer.from_pem("shop.test", "sm1", dkim.generate_key(1024)).dns_record()
    zone[("sm1._domainkey.shop.test", "TXT")] = [other]
    wrong = {f.topic: f for f in dns.check(StoreSettings.load(), _zone(zone))}["dkim"]
    assert wrong.level == "error" and "another key" in wrong.text and record in wrong.text.replace('" "', "")


def test_suppression_list_refuses_an_offset_past_any_database_integer(api):
    response = api.get("/suppressions?offset=18446744073709551616")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "limit"]
