"""Orders (search, history, notify), the message log (filters, detail, retry, cancel, resend)."""

from __future__ import annotations

import pytest

from factories import evolve, order
from fixtures.delivery import composed
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message, Status
from shopmail.mail.worker import drain
from shopmail.panel.names import notification_name
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db


def test_order_search(staff, store):
    ingest(
        orders=[
            order("10023"),
            order(
                "20077",
                customer={
                    **order("x")["customer"],
                    "id": "c-b",
                    "email": "bea@example.org",
                    "first_name": "Bea",
                    "last_name": "Lund",
                },
            ),
        ]
    )

    def found(q):
        page = staff.get("/admin/orders/", {"q": q}).content.decode()
        return {number for number in ("10023", "20077") if f">{number}</a>" in page}

    assert found("") == {"10023", "20077"}
    assert found("20077") == {"20077"}
    assert found("BEA@example") == {"20077"}
    assert found("bea lund") == {"20077"}
    assert found("ana") == {"10023"}
    assert found("nobody") == set()


def test_order_page_shows_history_and_why_nothing_was_sent(staff, store):
    store.rules = {"picked": False}
    store.save()
    first = order("10023", status="processing")
    ingest(orders=[first])
    ingest(orders=[evolve(first, 5, picked=True, delivery_note_printed=True)])
    placed = Order.objects.get()
    page = staff.get(f"/admin/orders/{placed.pk}/").content.decode()
    assert "Nothing sent: this order-update rule is switched off." in page
    assert "E-mail order_updated queued." in page
    confirmed = Message.objects.get(notification="order_confirmed")
    assert f'href="/admin/messages/{confirmed.pk}/"' in page
    assert "<code>picked</code>" in page and "<code>delivery_note_printed</code>" in page
    assert "Current snapshot" in page and "&quot;status&quot;: &quot;processing&quot;" in page


def test_send_notification_with_custom_message(staff, placed):
    response = staff.post(
        f"/admin/orders/{placed.pk}/notify/",
        {"notification": "order_shipped", "custom_message": "Your parcel left today.", "confirm": "1"},
    )
    assert response.status_code == 302
    message = Message.objects.get(notification="order_shipped")
    assert message.to_email == "customer10023@example.com"
    assert message.payload.context["custom_message"] == "Your parcel left today."
    response = staff.post(f"/admin/orders/{placed.pk}/notify/", {"notification": "newsletter"})
    assert response.status_code == 422 and b"errorlist" in response.content


def test_resend_from_the_order_page(staff, placed):
    original = Message.objects.get(notification="order_confirmed")
    response = staff.post(
        f"/admin/messages/{original.pk}/resend/", {"custom_message": "Sorry, Ana!", "back": "order"}
    )
    assert response.status_code == 302 and response["Location"] == f"/admin/orders/{placed.pk}/"
    copy = Message.objects.get(resend_of=original)
    assert copy.payload.context["custom_message"] == "Sorry, Ana!"
    response = staff.post(f"/admin/messages/{original.pk}/resend/", {"custom_message": "x" * 5001})
    assert Message.objects.filter(resend_of=original).count() == 1


def test_message_log_filters(staff, placed, store):
    ingest(orders=[order("2", status="pending")])
    Message.objects.filter(notification="order_received").update(status=Status.FAILED, last_error="550 nope")

    def shown(**query):
        page = staff.get("/admin/messages/", query).content.decode()
        return sorted(
            m.notification
            for m in Message.objects.all()
            if f">#{m.pk} {notification_name(m.notification)}</a>" in page
        )

    assert len(shown()) == 4
    assert shown(status="failed") == ["order_received"]
    assert shown(notification="admin_order_placed") == ["admin_order_placed", "admin_order_placed"]
    assert shown(to="customer10023") == ["order_confirmed"]
    assert shown(order="2") == ["admin_order_placed", "order_received"]
    assert shown(after="2099-01-01") == []
    assert len(shown(before="2099-01-01", after="2000-01-01")) == 4


def test_retry_and_cancel(staff, placed):
    message = Message.objects.get(notification="order_confirmed")
    response = staff.post(f"/admin/messages/{message.pk}/cancel/")
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == Status.CANCELLED
    staff.post(f"/admin/messages/{message.pk}/retry/", {"back": "dashboard"})
    message.refresh_from_db()
    assert message.status == Status.QUEUED
    page = staff.post(f"/admin/messages/{message.pk}/retry/", follow=True).content.decode()
    assert "only a failed, held, deferred or cancelled message can be retried" in page


def test_queued_message_shows_what_would_be_sent_then_what_the_worker_composed(staff, placed):
    message = Message.objects.get(notification="order_confirmed")
    assert not message.payload.raw  # the worker composes order mail (ADR 0012)
    page = staff.get(f"/admin/messages/{message.pk}/").content.decode()
    assert "Not composed yet" in page and '<iframe class="mail"' in page and "sandbox " in page
    assert "10023" in page and "Not attempted yet" in page and ">Cancel</button>" in page
    header = '<th scope="row" class="nowrap">Message-ID</th>'
    assert header not in page  # no headers before there are bytes
    assert "10023" in composed(message).subject
    page = staff.get(f"/admin/messages/{message.pk}/").content.decode()
    assert "Not composed yet" not in page and '<iframe class="mail"' in page and "10023" in page
    assert header in page and "bytes as sent" in page


@pytest.mark.django_db(transaction=True)
def test_sent_message_shows_html_headers_and_smtp_replies(staff, smtp_store, smtp_server):
    ingest(orders=[order("7", status="processing")])
    drain()
    smtp_server.wait_for(2)
    message = Message.objects.get(notification="order_confirmed")
    page = staff.get(f"/admin/messages/{message.pk}/").content.decode()
    assert "Not composed yet" not in page
    assert 'sandbox referrerpolicy="no-referrer" srcdoc="&lt;' in page and "allow-scripts" not in page
    assert '<th scope="row" class="nowrap">Message-ID</th>' in page
    assert "queued as test-" in page and "<td>250</td>" in page
    assert ">Retry now</button>" not in page and ">Cancel</button>" not in page
