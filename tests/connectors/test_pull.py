"""``shopmail pull``: pages of the published payloads from a local server that answers like the
shops' REST APIs (tests/connectors/fakeshop.py)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from fakeshop import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, FakeShop
from payloads import load

from shopmail.connectors import config, pull
from shopmail.connectors.client import PullError
from shopmail.connectors.models import Connector
from shopmail.mail.models import Message
from shopmail.store.models import Order

SINCE_2017 = dt.datetime(2017, 1, 1, tzinfo=dt.UTC)
FAST = {"pause": 0.0}


@pytest.fixture
def shop(store):
    woo = load("woocommerce", "orders.json")  # orders 727 and 723
    shopify_orders = [
        load("shopify", "orders.json")["orders"][0],  # 450789469
        load("shopify", "order_pending.json")["order"],  # 1073459983
        load("shopify", "order_paid_fulfilled.json")["order"],  # 1073459972
    ]
    downloads = {"26": load("woocommerce", "customer_downloads.json")}
    with FakeShop(woo, shopify_orders, downloads) as server:
        config.configure("woocommerce", url=server.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
        config.configure("shopify", shop_url=server.url, access_token=SHOPIFY_TOKEN)
        yield server


def woo_pages(server: FakeShop) -> list[tuple[str, str]]:
    return [
        (q["page"][0], q["modified_after"][0]) for path, q, _ in server.requests if path.endswith("/orders")
    ]


def test_woocommerce_pull_follows_pages_and_keeps_a_cursor(shop):
    summary = pull.pull("woocommerce", since=SINCE_2017, retry=FAST)
    assert (summary.pages, summary.fetched) == (2, 2)
    assert woo_pages(shop) == [("1", "2017-01-01T00:00:00+00:00"), ("2", "2017-01-01T00:00:00+00:00")]
    # over plain http the key and secret go as query parameters, never as HTTP Basic
    first = shop.requests[0]
    assert first[1]["consumer_key"] == [WOO_KEY] and "Authorization" not in first[2]
    assert first[1]["per_page"] == ["100"] and first[1]["dates_are_gmt"] == ["true"]
    assert set(Order.objects.values_list("external_id", flat=True)) == {"727", "723"}
    album = Order.objects.get(external_id="723").snapshot["lines"][0]
    assert album["kind"] == "download" and album["download"]["url"].startswith(
        "https://example.com/?download_file=87"
    )
    connector = Connector.load("woocommerce")
    # the newest date_modified_gmt the shop sent (order 727, 19:28:08), less a second
    assert connector.cursor == dt.datetime(2017, 3, 22, 19, 28, 7, tzinfo=dt.UTC)
    assert connector.last_error == "" and connector.last_summary["orders_fetched"] == 2

    shop.requests.clear()
    again = pull.pull("woocommerce", retry=FAST)  # from the cursor
    assert woo_pages(shop) == [("1", "2017-03-22T19:28:07+00:00")]
    assert again.fetched == 1 and again.run["counts"]["orders"]["unchanged"] == 1


def test_page_that_fails_once_is_asked_again(shop):
    shop.fail["woo:2"] = 1
    summary = pull.pull("woocommerce", since=SINCE_2017, retry=FAST)
    assert [page for page, _ in woo_pages(shop)] == ["1", "2", "2"]
    assert summary.fetched == 2 and Order.objects.count() == 2


def test_page_that_keeps_failing_applies_nothing(shop):
    shop.fail["woo:2"] = 99
    shop.fail_status = 500
    with pytest.raises(
        PullError, match="WooCommerce answered 500 Internal Server Error: Service Unavailable"
    ):
        pull.pull("woocommerce", since=SINCE_2017, retry=FAST)
    assert not Order.objects.exists() and not Message.objects.exists()  # page 1 was not applied either
    connector = Connector.load("woocommerce")
    assert connector.cursor is None and "500" in connector.last_error
    assert connector.pull_started_at is None  # the next pull may start


def test_wrong_woocommerce_credentials_name_the_shops_answer(shop):
    config.configure("woocommerce", consumer_key="ck_wrong")
    with pytest.raises(PullError) as caught:
        pull.pull("woocommerce", since=SINCE_2017, retry=FAST)
    assert str(caught.value) == (
        "WooCommerce answered 401 Unauthorized: Consumer key is invalid. "
        "(woocommerce_rest_authentication_error): check the credentials in connectors settings"
    )
    assert not Order.objects.exists()
    assert [path for path, _, _ in shop.requests] == ["/wp-json/wc/v3/orders"]  # asked once, not retried


def test_shopify_pull_follows_link_headers(shop):
    summary = pull.pull("shopify", since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), retry=FAST)
    assert (summary.pages, summary.fetched) == (3, 3)
    order_requests = [q for path, q, _ in shop.requests if path.endswith("/orders.json")]
    assert order_requests[0]["status"] == ["any"] and order_requests[0]["limit"] == ["250"]
    assert "page_info" in order_requests[1] and "status" not in order_requests[1]  # the next link as given
    assert all(h.get("X-Shopify-Access-Token") == SHOPIFY_TOKEN for _, _, h in shop.requests)
    statuses = dict(Order.objects.values_list("external_id", "status"))
    assert statuses == {"450789469": "partially_refunded", "1073459983": "pending", "1073459972": "fulfilled"}
    assert Connector.load("shopify").cursor == dt.datetime(2025, 7, 2, 16, 31, 39, tzinfo=dt.UTC)


def test_shopify_page_failing_once_and_wrong_token(shop):
    shop.fail["shopify:1"] = 1
    assert pull.pull("shopify", since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), retry=FAST).fetched == 3
    config.configure("shopify", access_token="shpat_wrong")
    with pytest.raises(
        PullError, match=r"Shopify answered 401 Unauthorized: \[API\] Invalid API key or access token"
    ):
        pull.pull("shopify", retry=FAST)


def test_dry_run_changes_nothing(shop):
    summary = pull.pull("woocommerce", since=SINCE_2017, dry_run=True, retry=FAST)
    assert summary.fetched == 2 and summary.run["counts"]["orders"]["new"] == 2
    assert not Order.objects.exists() and Connector.load("woocommerce").cursor is None


def test_missing_settings_are_named(store):
    with pytest.raises(PullError, match=r"set connectors\.shopify shop_url and access_token first"):
        pull.pull("shopify")


def test_cli_prints_a_summary_and_a_clear_error(shop):
    out = io.StringIO()
    call_command("pull", "woocommerce", "--since", "2017-01-01T00:00:00+00:00", stdout=out)
    text = out.getvalue()
    assert "Pull from woocommerce since 2017-01-01T00:00:00+00:00" in text
    assert "Next pull starts from 2017-03-22T19:28:07+00:00." in text
    assert Order.objects.count() == 2
    config.configure("woocommerce", consumer_key="ck_wrong")
    with pytest.raises(
        CommandError, match="pull from woocommerce stopped, nothing was applied: WooCommerce answered 401"
    ):
        call_command("pull", "woocommerce", stdout=io.StringIO())
