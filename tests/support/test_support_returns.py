"""Returns, staff side: the list, the decision, the customer's e-mail and order page."""

from __future__ import annotations

import pytest
from django.test import Client

from fixtures.customer_kit import rendered
from shopmail.mail.models import Message
from shopmail.store.models import FeedEvent, Order
from shopmail.support import returns
from shopmail.support.models import ReturnRequest

TIMES = "\u00d7"  # the multiplication sign the e-mails use


@pytest.fixture
def staff_client(db, django_user_model):
    user = django_user_model.objects.create_user("kari@shop.test", "kari@shop.test", "x", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rma(ana):
    order = Order.objects.get(external_id="A-1")
    made, _ = returns.request(order, [{"line_id": "1", "quantity": 1}], "The handle is chipped")
    return made


def test_staff_list_and_approve(api, rma, staff_client, ana_client):
    listing = staff_client.get("/admin/returns/").content.decode()
    assert rma.number in listing and "Ana Silva" in listing and f"1 {TIMES} Mug" in listing
    detail = staff_client.get(f"/admin/returns/{rma.pk}/")
    assert detail.status_code == 200 and b"The handle is chipped" in detail.content
    response = staff_client.post(
        f"/admin/returns/{rma.pk}/", {"decision": "approve", "comment": "Send it back with the label."}
    )
    assert response.status_code == 302
    rma.refresh_from_db()
    assert rma.status == "approved" and rma.decided_by.username == "kari@shop.test" and rma.decided_at
    message = Message.objects.get(notification="rma_approved")
    assert message.to_email == "ana@example.com"
    mail = rendered(message)
    assert (
        rma.number in mail.subject
        and "Send it back with the label." in mail.text
        and f"1 {TIMES} Mug" in mail.text
    )
    assert "/account/order/" in mail.text, "the mail links to the order"
    order_page = ana_client.get(f"/account/orders/{rma.order_id}/").content.decode()
    assert "Approved" in order_page and "Send it back with the label." in order_page
    [decided] = FeedEvent.objects.filter(type="rma.decided")
    assert decided.data == {
        "rma": rma.number,
        "id": rma.pk,
        "order": "A-1",
        "customer": "c-ana",
        "status": "approved",
        "comment": "Send it back with the label.",
        "decided_at": rma.decided_at.isoformat(),
    }
    # a second decision changes nothing and sends nothing
    staff_client.post(f"/admin/returns/{rma.pk}/", {"decision": "deny", "comment": "No"})
    rma.refresh_from_db()
    assert rma.status == "approved" and not Message.objects.filter(notification="rma_denied").exists()
    assert f"/admin/returns/{rma.pk}/" in staff_client.get("/admin/returns/?status=approved").content.decode()


def test_staff_deny(rma, staff_client, ana_client):
    staff_client.post(f"/admin/returns/{rma.pk}/", {"decision": "deny", "comment": "Worn."})
    rma.refresh_from_db()
    assert rma.status == "denied"
    mail = rendered(Message.objects.get(notification="rma_denied"))
    assert "Worn." in mail.text
    assert "Declined" in ana_client.get(f"/account/orders/{rma.order_id}/").content.decode()


def test_bad_decision_is_refused(rma, staff_client):
    assert staff_client.post(f"/admin/returns/{rma.pk}/", {"decision": "maybe"}).status_code == 400
    rma.refresh_from_db()
    assert rma.status == "requested"


def test_staff_pages_need_staff(rma, ana_client, django_user_model):
    for path in ("/admin/returns/", f"/admin/returns/{rma.pk}/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        assert ana_client.get(path).status_code == 302
    outsider = django_user_model.objects.create_user("o@shop.test", "o@shop.test", "x")
    client = Client()
    client.force_login(outsider)
    assert client.post(f"/admin/returns/{rma.pk}/", {"decision": "approve"}).status_code == 403
    rma.refresh_from_db()
    assert rma.status == "requested"


def test_a_customer_never_sees_another_customers_return(rma, bob):
    from fixtures.customer_kit import sign_in

    client = Client()
    sign_in(client, bob.email)
    assert client.get(f"/account/orders/{rma.order_id}/").status_code == 404
    assert rma.number not in client.get("/account/").content.decode()
    bobs = Order.objects.get(external_id="B-1")
    assert rma.number not in client.get(f"/account/orders/{bobs.pk}/").content.decode()


def test_switched_off_decision_mail_is_not_sent_but_decision_stands(store, rma, staff_client):
    store.notifications = {"rma_approved": False}
    store.save()
    staff_client.post(f"/admin/returns/{rma.pk}/", {"decision": "approve", "comment": ""})
    rma.refresh_from_db()
    assert rma.status == "approved" and not Message.objects.filter(notification="rma_approved").exists()
    assert ReturnRequest.objects.get().comment == ""
