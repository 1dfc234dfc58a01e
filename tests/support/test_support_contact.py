"""The public contact form and contact.submitted: stored, mailed to staff with Reply-To the sender."""

from __future__ import annotations

import pytest
from django.test import Client

from fixtures.customer_kit import rendered
from shopmail.account import throttle
from shopmail.mail.models import Message
from shopmail.support.models import ContactMessage

FORM = {
    "name": "Ola Nordmann",
    "email": "ola@kafe.example.no",
    "subject": "Wholesale prices",
    "order": "",
    "message": "Do you offer volume discounts?",
    "website": "",
}


def test_form_is_public_with_csrf_and_a_honeypot(db, store):
    page = Client().get("/contact/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'name="website"' in html and 'aria-hidden="true"' in html
    assert Client(enforce_csrf_checks=True).post("/contact/", FORM).status_code == 403
    assert not ContactMessage.objects.exists()


def test_message_is_stored_and_mailed_with_reply_to_the_sender(store):
    response = Client().post("/contact/", {**FORM, "order": "10023"})
    assert response.status_code == 302 and response["Location"] == "/contact/sent/"
    stored = ContactMessage.objects.get()
    assert stored.email == "ola@kafe.example.no" and stored.order_ref == "10023" and stored.source == "form"
    message = Message.objects.get(notification="admin_contact_message")
    assert message.to_email == "staff@shop.test" and message.payload.reply_to == "ola@kafe.example.no"
    mail = rendered(message)
    assert "Wholesale prices" in mail.subject and "Do you offer volume discounts?" in mail.text
    assert b"Reply-To: ola@kafe.example.no" in mail.raw and "10023" in mail.text


def test_honeypot_filled_is_dropped_silently(store):
    response = Client().post("/contact/", {**FORM, "website": "http://spam.example"})
    assert response.status_code == 302 and response["Location"] == "/contact/sent/"
    assert not ContactMessage.objects.exists() and not Message.objects.exists()


def test_rate_limited_per_ip(store):
    client = Client()
    for _ in range(throttle.CONTACT_POSTS_IP.count):
        assert client.post("/contact/", FORM).status_code == 302
    blocked = client.post("/contact/", FORM)
    assert blocked.status_code == 429 and b"try again later" in blocked.content
    other_ip = Client(REMOTE_ADDR="10.1.2.3").post("/contact/", FORM)
    assert other_ip.status_code == 302
    assert ContactMessage.objects.count() == throttle.CONTACT_POSTS_IP.count + 1


def test_invalid_input_and_header_injection_refused(store):
    client = Client()
    assert client.post("/contact/", {**FORM, "email": "ola@x\r\nBcc: all@example.com"}).status_code == 400
    assert client.post("/contact/", {**FORM, "message": ""}).status_code == 400
    assert not ContactMessage.objects.exists()


def test_markup_is_escaped_in_the_staff_mail(store):
    Client().post("/contact/", {**FORM, "name": "<b>Ola</b>", "message": "<script>x()</script>"})
    mail = rendered(Message.objects.get())
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html


def test_signed_in_customer_gets_the_form_prefilled(ana_client):
    page = ana_client.get("/contact/").content.decode()
    assert 'value="ana@example.com"' in page and 'value="Ana Silva"' in page


def test_contact_submitted_event_does_the_same(api, make_order):
    make_order("10023")
    body = {
        "type": "contact.submitted",
        "data": {
            "id": "c-9",
            "name": "Ola",
            "email": "ola@kafe.example.no",
            "subject": "Hi",
            "message": "Hello",
            "order": "10023",
        },
    }
    response = api.post("/events", body)
    assert response.status_code == 202, response.content
    [summary] = response.json()["messages"]
    assert summary["notification"] == "admin_contact_message"
    stored = ContactMessage.objects.get()
    assert stored.source == "api" and stored.order.external_id == "10023"
    assert Message.objects.get(notification="admin_contact_message").payload.reply_to == "ola@kafe.example.no"
    assert api.post("/events", body).json()["messages"] == []
    assert ContactMessage.objects.count() == 1
    empty = api.post("/events", {"type": "contact.submitted", "data": {**body["data"], "message": ""}})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "data", "message"]


@pytest.mark.django_db(transaction=True)
def test_contact_mail_arrives_with_reply_to(smtp_store, smtp_server):
    from shopmail.mail.worker import drain

    Client().post("/contact/", FORM)
    drain()
    [received] = smtp_server.wait_for(1)
    parsed = received.message
    assert received.rcpt_tos == ("staff@shop.test",)
    assert parsed["Reply-To"].addresses[0].addr_spec == "ola@kafe.example.no"
    assert "Do you offer volume discounts?" in parsed.get_body(("plain",)).get_content()
