"""My page orders: history, details, the signed order link, the back-order choice, returns."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client

from factories import evolve, shipment
from factories import order as order_snapshot
from fixtures.customer_kit import link_in, rendered
from shopmail.flows.ingest import ingest
from shopmail.mail import links
from shopmail.mail.models import Message
from shopmail.store.models import FeedEvent, Order, OrderEvent
from shopmail.support.models import ReturnRequest

XSS = '<script>alert("x")</script>'
TIMES = "\u00d7"  # the multiplication sign the e-mails use


@pytest.fixture
def shipped(ana):
    """Ana's order A-1: confirmed, then part shipped with UPS tracking, one e-book with a key."""
    first = order_snapshot("A-1", status="processing", minute=0)
    first["customer"] = {"id": "c-ana", "email": "ana@example.com", "first_name": "Ana", "last_name": "Silva"}
    first["lines"].append(
        {
            "id": "2",
            "sku": "EBOOK",
            "name": "Bird guide",
            "quantity": 1,
            "unit_price": "9.90",
            "delivered_quantity": 1,
            "backordered": False,
            "download": {
                "url": "https://dl.example.com/bird",
                "license_keys": ["KEY-1234"],
                "instructions": "Open it.",
            },
        }
    )
    later = evolve(first, 30, picked=True, shipments=[shipment("s1", {"1": 1}, tracking="1Z42")])
    assert not ingest(orders=[first]).rejected
    assert not ingest(orders=[later]).rejected
    return Order.objects.get(external_id="A-1")


def test_history_newest_first_with_status_and_total(ana, ana_client, bob):
    page = ana_client.get("/account/").content.decode()
    assert page.index("A-2") < page.index("A-1"), "newest first"
    assert "Pending" in page and "Processing" in page and "€30.19" in page
    assert "B-1" not in page


def test_order_detail_timeline_shipments_downloads_and_emails(shipped, ana_client):
    page = ana_client.get(f"/account/orders/{shipped.pk}/").content.decode()
    timeline = page[page.index('id="timeline"') : page.index("</ol>")]
    for step in (
        "Order placed",
        "Order confirmed",
        "Your order has been picked",
        "Part of your order has been shipped",
    ):
        assert step in timeline, step
    assert timeline.index("Order placed") < timeline.index("Order confirmed") < timeline.index("Part of your")
    assert 'href="https://track.example.com/1Z42"' in page and "UPS" in page
    assert 'href="https://dl.example.com/bird"' in page and "KEY-1234" in page and "Open it." in page
    assert "Order confirmation" in page and "Part of your order shipped" in page
    assert "staff@shop.test" not in page and "admin_order_placed" not in page.lower()


def test_someone_elses_order_is_404_and_anonymous_goes_to_login(ana, ana_client, bob):
    theirs = Order.objects.get(external_id="B-1")
    for path in (
        f"/account/orders/{theirs.pk}/",
        f"/account/orders/{theirs.pk}/return/",
    ):
        assert ana_client.get(path).status_code == 404, path
    assert (
        ana_client.post(f"/account/orders/{theirs.pk}/backorder/", {"choice": "one_shipment"}).status_code
        == 404
    )
    assert (
        ana_client.post(f"/account/orders/{theirs.pk}/return/", {"qty_0": "1", "reason": "x"}).status_code
        == 404
    )
    assert not ReturnRequest.objects.exists()
    anonymous = Client().get(f"/account/orders/{theirs.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/account/login/?next=")


def test_signed_order_link_opens_that_order_without_login(shipped):
    path = links.order_url("A-1").split("127.0.0.1:8000", 1)[-1]
    path = "/" + path.split("/", 3)[-1] if path.startswith("http") else path
    response = Client().get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Order A-1" in page and "1Z42" in page
    assert "Return items" not in page, "actions need a signed-in owner"


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def test_signed_order_link_cannot_be_altered(shipped, bob):
    good = _path(links.order_url("A-1"))
    token = good.split("/")[-2]
    value, signature = token.rsplit(":", 1)
    forged_value = signing.b64_encode(b'"B-1"').decode()
    client = Client()
    for bad in (
        f"{forged_value}:{signature}",  # another order, the old signature
        f"{value}:{signature[:-2]}xx",  # a changed signature
        token[:-1],
        links.backorder_token("B-1", "one_shipment"),  # a valid token of another kind
        signing.dumps("B-1", salt="something-else"),
        "B-1",
    ):
        assert client.get(f"/account/order/{bad}/").status_code == 404, bad
    assert client.get(_path(links.order_url("no-such-order"))).status_code == 404


def test_xss_in_order_and_customer_fields_is_escaped(make_order, ana_client, ana):
    order = make_order(
        "X-1",
        customer={"id": "c-ana", "email": "ana@example.com", "first_name": XSS, "last_name": "Silva"},
        status="processing",
        status_label=XSS,
    )
    snapshot = dict(order.snapshot)
    snapshot["lines"] = [{**snapshot["lines"][0], "name": XSS, "download": {"url": "javascript:alert(1)"}}]
    snapshot["shipments"] = [
        {**shipment("s1", {"1": 1}), "tracking_url": "javascript:alert(2)", "carrier": XSS}
    ]
    Order.objects.filter(pk=order.pk).update(snapshot=snapshot)
    page = ana_client.get(f"/account/orders/{order.pk}/").content.decode()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "javascript:" not in page
    signed = Client().get(_path(links.order_url("X-1"))).content.decode()
    assert "<script>" not in signed


# --------------------------------------------------------------------------- back-order choice


@pytest.fixture
def backordered(ana, make_order):
    snapshot = order_snapshot("BO-1", status="processing")
    snapshot["customer"] = {"id": "c-ana", "email": "ana@example.com", "first_name": "Ana"}
    snapshot["lines"][0]["backordered"] = True
    assert not ingest(orders=[snapshot]).rejected
    return Order.objects.get(external_id="BO-1")


def test_backorder_links_choose_once(api, backordered):
    urls = links.backorder_urls("BO-1")
    client = Client()
    page = client.get(_path(urls["ship_available"]))
    assert page.status_code == 200 and b'value="ship_available"' in page.content
    backordered.refresh_from_db()
    assert backordered.backorder_choice == "", "opening the link (or a mail scanner doing so) chooses nothing"
    done = client.post(_path(urls["ship_available"]), {"choice": "ship_available"})
    assert done.status_code == 302
    again = client.post(_path(urls["one_shipment"]), {"choice": "one_shipment"}, follow=True)
    assert b"Ship what is available now" in again.content and b"Confirm my choice" not in again.content
    backordered.refresh_from_db()
    assert backordered.backorder_choice == "ship_available" and backordered.backorder_choice_at
    assert FeedEvent.objects.filter(type="backorder.chosen").count() == 1
    assert FeedEvent.objects.get(type="backorder.chosen").data["order"] == "BO-1"
    detail = api.get("/orders/BO-1").json()
    assert detail["backorder_choice"] == "ship_available"
    assert any(event["rule"] == "backorder_chosen" for event in detail["history"]), "shown to staff"
    feed = api.get("/feed").json()
    assert [item["type"] for item in feed["items"]] == ["backorder.chosen"]


def test_backorder_choice_mail_links_open_the_choice_page(backordered):
    message = Message.objects.get(notification="order_backorder_choice", order=backordered)
    text = rendered(message).text
    path = link_in(text, "/account/backorder/")
    assert Client().get(path).status_code == 200


def test_backorder_choice_mail_has_both_links(backordered):
    message = Message.objects.get(notification="order_backorder_choice", order=backordered)
    text = rendered(message).text
    paths = [
        link_in(line, "/account/backorder/") for line in text.splitlines() if "/account/backorder/" in line
    ]
    assert [links.backorder_from_token(path.split("/")[-2])[1] for path in paths] == [
        "one_shipment",
        "ship_available",
    ]


def test_backorder_link_tampered_or_bad_choice(backordered):
    token = links.backorder_token("BO-1", "one_shipment")
    client = Client()
    assert client.get(f"/account/backorder/{token[:-3]}abc/").status_code == 404
    assert client.get(f"/account/backorder/{links.order_token('BO-1')}/").status_code == 404
    bad = client.post(f"/account/backorder/{token}/", {"choice": "teleport"})
    assert bad.status_code == 400
    backordered.refresh_from_db()
    assert backordered.backorder_choice == ""


def test_backorder_choice_on_my_page(backordered, ana_client):
    page = ana_client.get(f"/account/orders/{backordered.pk}/").content.decode()
    assert "Some items are on back order" in page
    ana_client.post(f"/account/orders/{backordered.pk}/backorder/", {"choice": "one_shipment"})
    backordered.refresh_from_db()
    assert backordered.backorder_choice == "one_shipment"
    assert (
        "One shipment when everything is in stock"
        in ana_client.get(f"/account/orders/{backordered.pk}/").content.decode()
    )


# --------------------------------------------------------------------------- returns


def test_return_request_from_my_page(api, ana, ana_client):
    order = Order.objects.get(external_id="A-1")
    form = ana_client.get(f"/account/orders/{order.pk}/return/")
    assert form.status_code == 200 and b'name="qty_0"' in form.content
    too_many = ana_client.post(f"/account/orders/{order.pk}/return/", {"qty_0": "3", "reason": "Chipped"})
    assert too_many.status_code == 400 and b"at most 2" in too_many.content.lower()
    nothing = ana_client.post(f"/account/orders/{order.pk}/return/", {"qty_0": "0", "reason": "Chipped"})
    assert nothing.status_code == 400 and b"choose at least one" in nothing.content.lower()
    no_reason = ana_client.post(f"/account/orders/{order.pk}/return/", {"qty_0": "1", "reason": " "})
    assert no_reason.status_code == 400
    done = ana_client.post(f"/account/orders/{order.pk}/return/", {"qty_0": "1", "reason": f"Chipped {XSS}"})
    assert done.status_code == 302
    rma = ReturnRequest.objects.get()
    assert rma.lines == [{"line_id": "1", "name": "Mug", "sku": "MUG-01", "quantity": 1}]
    assert rma.status == "requested" and rma.source == "my_page"
    staff = Message.objects.get(notification="admin_rma_requested")
    assert staff.to_email == "staff@shop.test" and staff.payload.reply_to == "ana@example.com"
    mail = rendered(staff)
    assert (
        rma.number in mail.subject
        and f"1 {TIMES} Mug" in mail.text
        and f"/admin/returns/{rma.pk}/" in mail.text
    )
    assert "<script>" not in mail.html
    page = ana_client.get(f"/account/orders/{order.pk}/").content.decode()
    assert rma.number in page and "Waiting for our answer" in page and "&lt;script&gt;" in page
    assert "<script>" not in page
    assert FeedEvent.objects.get(type="rma.requested").data["lines"][0]["quantity"] == 1
    # only one more mug may be asked back
    over = ana_client.post(f"/account/orders/{order.pk}/return/", {"qty_0": "2", "reason": "Again"})
    assert over.status_code == 400 and b"at most 1" in over.content.lower()
    detail = api.get("/orders/A-1").json()
    assert any(event["rule"] == "rma_requested" for event in detail["history"])


def test_cancelled_order_cannot_be_returned(ana, ana_client, make_order):
    order = make_order("A-9", customer={"id": "c-ana", "email": "ana@example.com"}, status="cancelled")
    assert b"Return items" not in ana_client.get(f"/account/orders/{order.pk}/").content
    response = ana_client.post(f"/account/orders/{order.pk}/return/", {"qty_0": "1", "reason": "x"})
    assert response.status_code == 400 and not ReturnRequest.objects.exists()


def test_rma_requested_event_starts_the_same_flow(api, ana):
    body = {
        "type": "rma.requested",
        "data": {
            "id": "ev-7",
            "order": "A-1",
            "lines": [{"line_id": "1", "quantity": 2}],
            "reason": "Too big",
        },
    }
    response = api.post("/events", body)
    assert response.status_code == 202, response.content
    payload = response.json()
    rma = ReturnRequest.objects.get()
    assert payload["rma"]["number"] == rma.number and rma.source == "api"
    assert [m["notification"] for m in payload["messages"]] == ["admin_rma_requested"]
    replay = api.post("/events", body).json()
    assert replay["messages"] == [] and ReturnRequest.objects.count() == 1
    assert FeedEvent.objects.filter(type="rma.requested").count() == 1
    returns = api.get("/orders/A-1").json()
    assert "returns" in returns


def test_rma_requested_event_errors_name_the_fields(api, ana):
    bad_line = api.post(
        "/events",
        {"type": "rma.requested", "data": {"order": "A-1", "lines": [{"line_id": "9"}], "reason": "x"}},
    )
    assert bad_line.status_code == 422
    assert bad_line.json()["detail"] == [
        {"loc": ["body", "data", "lines", 0, "line_id"], "msg": "no such line in this order"}
    ]
    too_many = api.post(
        "/events",
        {
            "type": "rma.requested",
            "data": {"order": "A-1", "lines": [{"line_id": "1", "quantity": 5}], "reason": "x"},
        },
    )
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == [
        "body",
        "data",
        "lines",
        0,
        "quantity",
    ]
    no_order = api.post(
        "/events",
        {"type": "rma.requested", "data": {"order": "nope", "lines": [{"line_id": "1"}], "reason": "x"}},
    )
    assert no_order.status_code == 422 and no_order.json()["detail"][0]["loc"] == ["body", "data", "order"]
    assert (
        not ReturnRequest.objects.exists()
        and not Message.objects.filter(notification="admin_rma_requested").exists()
    )


def test_returns_for_lists_the_orders_returns(ana):
    from shopmail.support import returns
    from shopmail.support.queries import returns_for

    order = Order.objects.get(external_id="A-1")
    assert returns_for(order) == []
    rma, _ = returns.request(order, [{"line_id": "1", "quantity": 1}], "Broken")
    returns.decide(rma, approve=False, comment="Used")
    [item] = returns_for(order)
    assert item["number"] == rma.number and item["status"] == "denied" and item["comment"] == "Used"
    assert item["lines"][0]["line_id"] == "1" and item["decided_at"]
    assert OrderEvent.objects.filter(order=order, rule="rma_decided").exists()
