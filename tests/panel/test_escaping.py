"""Customer data is shown as text everywhere: a name like <script> is escaped, never run."""

from __future__ import annotations

import pytest
from panel_support import XSS

from factories import order
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message
from shopmail.store.models import Customer, Order

pytestmark = pytest.mark.django_db

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def hostile(store):
    snapshot = order("666", status="processing", status_label=XSS, number="666")
    snapshot["customer"].update(first_name=XSS, last_name='"><img src=x onerror=alert(2)>')
    snapshot["lines"][0]["name"] = XSS
    ingest(orders=[snapshot])
    return Order.objects.get()


def pages(order: Order) -> list[str]:
    message = Message.objects.get(notification="order_confirmed")
    customer = Customer.objects.get()
    return [
        f"/admin/orders/{order.pk}/",
        "/admin/orders/?q=666",
        f"/admin/customers/{customer.pk}/",
        "/admin/customers/",
        f"/admin/messages/{message.pk}/",
        "/admin/messages/",
        "/admin/templates/order_confirmed/en/?order=666",
    ]


def test_hostile_names_are_escaped_everywhere(staff, hostile):
    for url in pages(hostile):
        page = staff.get(url).content.decode()
        assert XSS not in page, url
        assert "<img src=x" not in page, url
    order_page = staff.get(f"/admin/orders/{hostile.pk}/").content.decode()
    assert ESCAPED in order_page
    customer_page = staff.get(f"/admin/customers/{Customer.objects.get().pk}/").content.decode()
    assert f"<h1>{ESCAPED} &quot;&gt;&lt;img src=x onerror=alert(2)&gt;</h1>" in customer_page


def test_message_page_frames_the_mail_without_scripts(staff, hostile):
    message = Message.objects.get(notification="order_confirmed")
    page = staff.get(f"/admin/messages/{message.pk}/").content.decode()
    assert XSS not in page
    frame = page.split('<iframe class="mail"')[1].split(">")[0]
    assert "sandbox " in frame and "allow-scripts" not in frame and "allow-same-origin" not in frame
    # the mail's own escaping, escaped once more for the srcdoc attribute
    assert "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" in frame
    assert ESCAPED in page.split("<h3>Text part</h3>")[1]


def test_hostile_search_and_filters_are_escaped(staff, store):
    page = staff.get("/admin/orders/", {"q": XSS}).content.decode()
    assert XSS not in page and ESCAPED in page
    page = staff.get("/admin/messages/", {"to": XSS}).content.decode()
    assert XSS not in page
