"""WooCommerce's published payloads mapped to snapshots (plain functions, no database)."""

from __future__ import annotations

from payloads import load

from shopmail.connectors import woocommerce
from shopmail.domain.snapshot import CustomerIn, OrderIn


def test_published_order_maps_to_a_valid_snapshot():
    snapshot = woocommerce.order(load("woocommerce", "order.json"))
    OrderIn.model_validate(snapshot)
    assert snapshot["id"] == "727"
    assert snapshot["number"] == "727"
    assert snapshot["status"] == "processing"
    # the *_gmt times, with their zone (date_created is the shop's local time without one)
    assert snapshot["created_at"] == "2017-03-22T19:28:02+00:00"
    assert snapshot["updated_at"] == "2017-03-22T19:28:08+00:00"
    assert snapshot["totals"] == {"subtotal": "18.00", "shipping": "10.00", "tax": "1.35", "total": "29.35"}
    lines = [(ln["id"], ln["sku"], ln["name"], ln["quantity"], ln["unit_price"]) for ln in snapshot["lines"]]
    assert lines == [
        ("315", "", "Woo Single #1", 2, "3"),
        ("316", "Bar3", "Ship Your Idea \u2013 Color: Black, Size: M Test", 1, "12"),  # &ndash; decoded
    ]
    assert snapshot["shipments"] == [] and snapshot["refunds"] == []


def test_guest_customer_of_an_order():
    customer = woocommerce.order(load("woocommerce", "order.json"))["customer"]
    # customer_id 0 is a guest checkout: keyed by the billing e-mail
    assert customer == {
        "id": "guest:john.doe@example.com",
        "email": "john.doe@example.com",
        "first_name": "John",
        "last_name": "Doe",
        "phone": "(555) 555-5555",
        "country": "US",
    }
    CustomerIn.model_validate(customer)


def test_listed_orders_with_refunds_and_downloads():
    orders = load("woocommerce", "orders.json")
    downloads = load("woocommerce", "customer_downloads.json")
    snapshots = [woocommerce.order(o, downloads) for o in orders]
    for snapshot in snapshots:
        OrderIn.model_validate(snapshot)
    completed = snapshots[1]
    assert (completed["id"], completed["status"], completed["customer"]["id"]) == ("723", "completed", "26")
    assert completed["refunds"] == [{"id": "726", "amount": "10.00"}, {"id": "724", "amount": "9.00"}]
    album, ninja = completed["lines"]
    assert album["kind"] == "download"
    assert album["download"] == {"url": downloads[0]["download_url"]}
    assert "kind" not in ninja and "download" not in ninja
    assert all("download" not in ln for ln in snapshots[0]["lines"])  # downloads of order 723 only


def test_refund_resource():
    refund = woocommerce.refund(load("woocommerce", "refund.json"))
    assert refund == {"id": "726", "amount": "10.00", "created_at": "2017-03-21T20:07:11+00:00"}


def test_shipment_tracking_meta_is_a_shipment_of_every_line():
    body = load("woocommerce", "order.json")
    # Not in the published example: one tracking item as the Shipment Tracking extension stores it
    # in the order meta (keys of WC_Shipment_Tracking_Actions::add_tracking_item, date as Unix time).
    body["meta_data"].append(
        {
            "id": 13200,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {
                    "tracking_provider": "usps",
                    "custom_tracking_provider": "",
                    "custom_tracking_link": "",
                    "tracking_number": "9400111899560000000000",
                    "date_shipped": "1783641600",
                    "tracking_id": "7f4978c390ee633c6294ae0f258656f9",
                }
            ],
        }
    )
    snapshot = woocommerce.order(body)
    OrderIn.model_validate(snapshot)
    assert snapshot["shipments"] == [
        {
            "id": "7f4978c390ee633c6294ae0f258656f9",
            "carrier": "usps",
            "tracking_number": "9400111899560000000000",
            "tracking_url": None,
            "shipped_at": "2026-07-10T00:00:00+00:00",
            "lines": [{"line_id": "315", "quantity": 2}, {"line_id": "316", "quantity": 1}],
        }
    ]


def test_custom_provider_link_and_a_second_parcel():
    body = load("woocommerce", "order.json")
    items = [
        {
            "tracking_provider": "",
            "custom_tracking_provider": "Example Courier",
            "custom_tracking_link": "https://track.example.com/ABC1",
            "tracking_number": "ABC1",
            "date_shipped": "1783641600",
        },
        {"tracking_provider": "usps", "tracking_number": "940011", "date_shipped": "1783728000"},
    ]
    body["meta_data"].append({"id": 1, "key": "_wc_shipment_tracking_items", "value": items})
    first, second = woocommerce.order(body)["shipments"]
    assert (first["carrier"], first["tracking_url"]) == ("Example Courier", "https://track.example.com/ABC1")
    assert len(first["lines"]) == 2 and second["lines"] == []
    assert first["id"] != second["id"]  # items without a tracking_id get a stable one of their own
    again = woocommerce.order(body)["shipments"]
    assert [s["id"] for s in again] == [first["id"], second["id"]]


def test_shipment_tracking_rest_item():
    shipment = woocommerce.tracking_item(load("woocommerce", "shipment_tracking.json"))
    assert shipment == {
        "id": "7f4978c390ee633c6294ae0f258656f9",
        "carrier": "USPS",
        "tracking_number": "9400111899560000000000",
        "tracking_url": "https://tools.usps.com/tracking/9400111899560000000000",
        "shipped_at": "2026-07-10T00:00:00+00:00",
        "lines": [],
    }


def test_customer_resource():
    customer = woocommerce.customer(load("woocommerce", "customer.json"))
    CustomerIn.model_validate(customer)
    assert customer["id"] == "25"
    assert customer["email"] == "john.doe@example.com"
    assert customer["created_at"] == "2017-03-21T19:09:28+00:00"
    assert customer["country"] == "US"
    assert "newsletter_opt_in" not in customer  # WooCommerce itself records no marketing consent


def test_product_without_managed_stock():
    assert woocommerce.product({"sku": "MUG-01", "name": "Mug", "stock_quantity": None}) == {
        "sku": "MUG-01",
        "name": "Mug",
        "stock_quantity": 1,
    }
    assert woocommerce.product({"sku": "", "name": "No SKU"}) is None
