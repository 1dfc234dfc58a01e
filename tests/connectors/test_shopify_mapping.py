"""Shopify's published payloads mapped to snapshots (plain functions, no database)."""

from __future__ import annotations

from payloads import load

from shopmail.connectors import shopify
from shopmail.domain.snapshot import CustomerIn, OrderIn, ProductIn


def test_published_order_maps_to_a_valid_snapshot():
    snapshot = shopify.order(load("shopify", "order.json"))
    OrderIn.model_validate(snapshot)  # what ingest accepts
    assert snapshot["id"] == "450789469"
    assert snapshot["number"] == "#1001"
    assert snapshot["created_at"] == "2008-01-10T11:00:00-05:00"
    assert snapshot["status"] == "partially_refunded"
    assert (snapshot["financial_status"], snapshot["fulfillment_status"]) == ("partially_refunded", None)
    assert snapshot["currency"] == "USD"
    assert snapshot["totals"] == {"subtotal": "597.00", "shipping": "0.00", "tax": "11.94", "total": "598.94"}
    assert [(ln["id"], ln["sku"], ln["quantity"], ln["unit_price"]) for ln in snapshot["lines"]] == [
        ("466157049", "IPOD2008GREEN", 1, "199.00"),
        ("518995019", "IPOD2008RED", 1, "199.00"),
        ("703073504", "IPOD2008BLACK", 1, "199.00"),
    ]
    assert all("kind" not in ln for ln in snapshot["lines"])  # requires_shipping: physical
    assert snapshot["billing_address"]["city"] == "Louisville"


def test_customer_inside_an_order():
    customer = shopify.order(load("shopify", "order.json"))["customer"]
    assert customer == {
        "id": "207119551",
        "email": "bob.norman@mail.example.com",
        "first_name": "Bob",
        "last_name": "Norman",
        "newsletter_opt_in": False,  # email_marketing_consent.state is not_subscribed
        "phone": "+16136120707",
        "country": "US",
        "created_at": "2025-07-02T11:29:59-05:00",
    }


def test_failed_fulfillment_is_no_shipment_and_refund_is_its_transactions():
    snapshot = shopify.order(load("shopify", "order.json"))
    # the one fulfillment of the example has status "failure"
    assert snapshot["shipments"] == []
    assert all(ln["delivered_quantity"] == 0 for ln in snapshot["lines"])
    assert snapshot["refunds"] == [
        {
            "id": "509562969",
            "amount": "209.00",
            "created_at": "2025-07-02T11:29:59-05:00",
            "reason": "it broke during shipping",
        }
    ]


def test_status_of_each_published_order():
    assert shopify.order(load("shopify", "order_pending.json"))["status"] == "pending"
    assert shopify.order(load("shopify", "order_paid_fulfilled.json"))["status"] == "fulfilled"
    cancelled = shopify.order(load("shopify", "order_cancelled.json"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] == "2025-07-02T11:31:21-05:00"
    listed = load("shopify", "orders.json")["orders"]
    assert [shopify.order(o)["status"] for o in listed] == ["partially_refunded"]


def test_successful_fulfillment_is_a_shipment_with_delivered_lines():
    snapshot = shopify.order(load("shopify", "order_paid_fulfilled.json"))
    OrderIn.model_validate(snapshot)
    assert snapshot["shipments"] == [
        {
            "id": "1069019863",
            "carrier": None,
            "tracking_number": None,
            "tracking_url": None,
            "shipped_at": "2025-07-02T11:31:05-05:00",
            "lines": [{"line_id": "1071823184", "quantity": 1}],
        }
    ]
    assert snapshot["lines"][0]["delivered_quantity"] == 1


def test_webhook_body_is_the_bare_resource():
    wrapped = load("shopify", "order.json")
    assert shopify.order(wrapped["order"]) == shopify.order(wrapped)


def test_fulfillment_webhook_applied_to_the_stored_order():
    stored = shopify.order(load("shopify", "order.json"))
    fulfillment = load("shopify", "fulfillment.json")["fulfillment"]
    merged = shopify.apply_fulfillment(stored, fulfillment)
    OrderIn.model_validate(merged)
    assert merged["shipments"] == [
        {
            "id": "1069019871",
            "carrier": "UPS",
            "tracking_number": fulfillment["tracking_number"],
            "tracking_url": fulfillment["tracking_url"],
            "shipped_at": "2025-07-02T11:38:40-05:00",
            "lines": [{"line_id": "1071823210", "quantity": 1}],
        }
    ]
    assert merged["updated_at"] == "2025-07-02T11:38:40-05:00"  # later than the order's
    assert stored["shipments"] == []  # the stored snapshot is not changed in place


def test_cancelled_fulfillment_removes_the_shipment():
    stored = shopify.order(load("shopify", "order_paid_fulfilled.json"))
    cancelled = load("shopify", "fulfillment_cancelled.json")["fulfillment"]
    cancelled["id"] = 1069019863  # the example cancels another order's fulfillment; aim it at this one
    merged = shopify.apply_fulfillment(stored, cancelled)
    assert merged["shipments"] == []
    assert merged["lines"][0]["delivered_quantity"] == 0


def test_tracking_number_with_line_breaks_is_one_line():
    fulfillment = load("shopify", "fulfillment_cancelled.json")["fulfillment"]
    fulfillment["status"] = "success"
    shipment = shopify.shipment(fulfillment)
    assert shipment is not None
    assert "\n" not in (shipment["tracking_number"] or "")


def test_refund_webhook_applied_to_the_stored_order():
    stored = shopify.order(load("shopify", "order_pending.json"))
    merged = shopify.apply_refund(stored, load("shopify", "refund.json")["refund"])
    assert merged["refunds"] == [
        {
            "id": "509562969",
            "amount": "209.00",
            "created_at": "2025-07-02T11:38:15-05:00",
            "reason": "it broke during shipping",
        }
    ]
    again = shopify.apply_refund(merged, load("shopify", "refund.json"))
    assert len(again["refunds"]) == 1  # the same refund id twice is one refund


def test_customer_webhook_and_marketing_consent():
    body = load("shopify", "customer.json")["customer"]
    customer = shopify.customer(body)
    CustomerIn.model_validate(customer)
    assert customer["newsletter_opt_in"] is False
    assert customer["country"] == "US"
    assert customer["addresses"][0]["city"] == "Louisville"
    # The one field changed from the published example: the customer subscribed.
    body["email_marketing_consent"]["state"] = "subscribed"
    subscribed = shopify.customer(body)
    assert subscribed["newsletter_opt_in"] is True
    assert subscribed["newsletter_opt_in_at"] == "2004-06-13T11:57:11-04:00"


def test_digital_and_gift_card_lines():
    body = load("shopify", "order_pending.json")["order"]
    # The one field changed from the published example: a digital product needs no shipping.
    body["line_items"][0]["requires_shipping"] = False
    assert shopify.order(body)["lines"][0]["kind"] == "download"
    body["line_items"][0]["gift_card"] = True
    assert shopify.order(body)["lines"][0]["kind"] == "service"


def test_guest_order_without_customer_uses_the_order_email():
    body = load("shopify", "order.json")["order"]
    body["customer"] = None
    customer = shopify.order(body)["customer"]
    assert customer["email"] == "bob.norman@mail.example.com"
    assert customer["id"] == "guest:bob.norman@mail.example.com"
    assert customer["first_name"] == "Bob"


def test_products_are_one_per_variant_sku():
    product = {
        "id": 632910392,
        "title": "IPod Nano - 8GB",
        "variants": [
            {"sku": "IPOD2008PINK", "title": "Pink", "inventory_quantity": 10},
            {"sku": "", "title": "Blank", "inventory_quantity": 3},
        ],
    }
    assert shopify.products(product) == [
        {"sku": "IPOD2008PINK", "name": "IPod Nano - 8GB - Pink", "stock_quantity": 10}
    ]
    ProductIn.model_validate(shopify.products(product)[0])
