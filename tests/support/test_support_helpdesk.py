"""The help desk: customers write on My page (or the shop through the API), staff answer in the panel."""

from __future__ import annotations

import pytest
from django.test import Client

from fixtures.customer_kit import link_in, rendered
from shopmail.mail.models import Message
from shopmail.store.models import Order
from shopmail.support.models import Thread, ThreadMessage


@pytest.fixture
def staff_client(db, django_user_model):
    user = django_user_model.objects.create_user(
        "kari@shop.test", "kari@shop.test", "x", is_staff=True, first_name="Kari"
    )
    client = Client()
    client.force_login(user)
    return client


def open_thread(client, subject="Gift wrapping", message="Could you gift-wrap the mug?", order=""):
    response = client.post("/account/helpdesk/", {"subject": subject, "order": order, "message": message})
    assert response.status_code == 302, response.content.decode()[:3000]
    return Thread.objects.latest("pk")


def test_customer_opens_thread_staff_reply_customer_answers(ana, ana_client, staff_client):
    order = Order.objects.get(external_id="A-1")
    thread = open_thread(ana_client, order=str(order.pk))
    assert thread.customer == ana and thread.order == order and thread.awaiting_staff
    staff_mail = Message.objects.get(notification="admin_helpdesk_message")
    assert staff_mail.to_email == "staff@shop.test" and staff_mail.payload.reply_to == "ana@example.com"
    text = rendered(staff_mail).text
    assert "Gift wrapping" in text and "Could you gift-wrap the mug?" in text and "A-1" in text
    assert f"/admin/helpdesk/{thread.pk}/" in text

    listing = staff_client.get("/admin/helpdesk/").content.decode()
    assert "Gift wrapping" in listing and "waiting for us" in listing
    page = staff_client.get(f"/admin/helpdesk/{thread.pk}/")
    assert page.status_code == 200 and b"Could you gift-wrap the mug?" in page.content
    assert staff_client.post(f"/admin/helpdesk/{thread.pk}/", {"message": "Of course!"}).status_code == 302
    reply = Message.objects.get(notification="helpdesk_reply")
    assert reply.to_email == "ana@example.com"
    mail = rendered(reply)
    assert mail.subject == "Re: Gift wrapping" and "Of course!" in mail.text and "Kari" in mail.text
    path = link_in(mail.text, "/account/helpdesk/")
    assert path == f"/account/helpdesk/{thread.pk}/"

    seen = ana_client.get(path).content.decode()
    assert "Of course!" in seen and "Could you gift-wrap the mug?" in seen
    assert ana_client.post(path, {"message": "Thanks!"}).status_code == 302
    thread.refresh_from_db()
    assert thread.awaiting_staff and thread.messages.count() == 3
    assert Message.objects.filter(notification="admin_helpdesk_message").count() == 2


def test_customer_cannot_see_or_post_to_another_customers_thread(ana, ana_client, bob):
    bob_client = Client()
    from fixtures.customer_kit import sign_in

    sign_in(bob_client, bob.email)
    theirs = open_thread(bob_client, subject="Bob's question")
    assert ana_client.get(f"/account/helpdesk/{theirs.pk}/").status_code == 404
    assert ana_client.post(f"/account/helpdesk/{theirs.pk}/", {"message": "hi"}).status_code == 404
    assert "Bob's question" not in ana_client.get("/account/helpdesk/").content.decode()
    assert theirs.messages.count() == 1


def test_customer_cannot_attach_someone_elses_order(ana, ana_client, bob):
    theirs = Order.objects.get(external_id="B-1")
    response = ana_client.post(
        "/account/helpdesk/", {"subject": "x", "order": str(theirs.pk), "message": "y"}
    )
    assert response.status_code == 400 and not Thread.objects.exists()


def test_staff_pages_need_staff(ana, ana_client, django_user_model):
    thread = open_thread(ana_client)
    for path in ("/admin/helpdesk/", f"/admin/helpdesk/{thread.pk}/"):
        anonymous = Client().get(path)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/?next=")
        customer = ana_client.get(path)  # a My page session is not a staff session
        assert customer.status_code == 302 and customer["Location"].startswith("/admin/login/")
    user = django_user_model.objects.create_user("temp@shop.test", "temp@shop.test", "x", is_staff=False)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/helpdesk/").status_code == 403
    assert client.post(f"/admin/helpdesk/{thread.pk}/", {"message": "hijack"}).status_code == 403
    assert not Message.objects.filter(notification="helpdesk_reply").exists()


def test_staff_can_close_and_reopen(ana_client, staff_client):
    thread = open_thread(ana_client)
    staff_client.post(f"/admin/helpdesk/{thread.pk}/status/", {"status": "closed"})
    thread.refresh_from_db()
    assert thread.status == "closed"
    assert "Gift wrapping" in staff_client.get("/admin/helpdesk/?show=closed").content.decode()
    ana_client.post(f"/account/helpdesk/{thread.pk}/", {"message": "One more thing"})
    thread.refresh_from_db()
    assert thread.status == "open", "a customer's message reopens the conversation"


def test_markup_in_posts_is_escaped(ana_client, staff_client):
    thread = open_thread(ana_client, subject="<i>hi</i>", message="<script>alert(1)</script>")
    for page in (
        ana_client.get(f"/account/helpdesk/{thread.pk}/"),
        staff_client.get(f"/admin/helpdesk/{thread.pk}/"),
        staff_client.get("/admin/helpdesk/"),
    ):
        html = page.content.decode()
        assert "<script>alert" not in html and "<i>hi</i>" not in html


def test_helpdesk_message_event_adds_to_the_customers_thread(api, ana):
    data = {"customer": "c-ana", "subject": "Delivery", "message": "Where is my parcel?", "order": "A-1"}
    first = api.post("/events", {"type": "helpdesk.message", "data": data})
    assert first.status_code == 202, first.content
    assert [m["notification"] for m in first.json()["messages"]] == ["admin_helpdesk_message"]
    second = api.post(
        "/events", {"type": "helpdesk.message", "data": {**data, "message": "Any news?", "id": "e1"}}
    )
    assert second.json()["thread"]["id"] == first.json()["thread"]["id"]
    thread = Thread.objects.get()
    assert [m.body for m in thread.messages.all()] == ["Where is my parcel?", "Any news?"]
    assert thread.order.external_id == "A-1"
    api.post("/events", {"type": "helpdesk.message", "data": {**data, "message": "Any news?", "id": "e1"}})
    assert ThreadMessage.objects.count() == 2, "a replayed event id adds nothing"
    other = api.post(
        "/events", {"type": "helpdesk.message", "data": {**data, "subject": "Invoice", "order": None}}
    )
    assert other.json()["thread"]["id"] != thread.pk


def test_helpdesk_message_event_with_a_new_customer_and_errors(api, ana, bob):
    new = {"id": "c-new", "email": "new@example.com", "first_name": "Nils"}
    response = api.post(
        "/events", {"type": "helpdesk.message", "data": {"customer": new, "message": "Hello"}}
    )
    assert response.status_code == 202
    assert Thread.objects.get().customer.external_id == "c-new"
    unknown = api.post("/events", {"type": "helpdesk.message", "data": {"customer": "ghost", "message": "x"}})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "data", "customer"]
    not_theirs = api.post(
        "/events", {"type": "helpdesk.message", "data": {"customer": "c-ana", "order": "B-1", "message": "x"}}
    )
    assert not_theirs.status_code == 422 and not_theirs.json()["detail"][0]["loc"] == [
        "body",
        "data",
        "order",
    ]
    assert Thread.objects.count() == 1
