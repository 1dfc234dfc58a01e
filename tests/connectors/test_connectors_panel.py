"""The panel's "Shop connectors" page and its "Get website data now" button."""

from __future__ import annotations

import pytest
from fakeshop import WOO_KEY, WOO_SECRET, FakeShop
from payloads import load

from shopmail.connectors import config
from shopmail.store.models import Order


@pytest.fixture
def staff(client, store):
    from django.contrib.auth import get_user_model

    email = "boss@shop.test"
    user = get_user_model()(username=email, email=email, is_staff=True, is_superuser=True)
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    return client


def test_page_shows_webhook_addresses_and_needs_staff(client, staff):
    page = staff.get("/admin/connectors/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/api/v1/hooks/shopify" in text and "/api/v1/hooks/woocommerce" in text
    assert "no webhook secret set" in text
    assert ">Get website data now</button>" not in text  # no credentials yet
    staff.logout()
    assert staff.get("/admin/connectors/").status_code in (302, 403)


def test_get_website_data_now_pulls_and_shows_the_summary(staff, store):
    store.notify_since = store.notify_since.replace(year=2017)
    store.save()
    with FakeShop(load("woocommerce", "orders.json"), [], {}) as shop:
        config.configure("woocommerce", url=shop.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
        assert ">Get website data now</button>" in staff.get("/admin/connectors/").content.decode()
        answer = staff.post("/admin/connectors/", {"platform": "woocommerce"})
        assert answer.status_code == 200
        assert "2 pages, 2 orders changed" in answer.content.decode()
        assert Order.objects.count() == 2
        config.configure("woocommerce", consumer_key="ck_wrong")
        failed = staff.post("/admin/connectors/", {"platform": "woocommerce"})
        assert failed.status_code == 502
        assert "Consumer key is invalid." in failed.content.decode()
