"""The panel's order statuses page (SPEC section 3): platform, the map, unmapped statuses."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.flows import ingest
from shopmail.store.models import Order, StoreSettings

pytestmark = pytest.mark.django_db


def test_unmapped_statuses_are_listed_with_their_orders_and_can_be_mapped(staff, store):
    ingest.ingest(orders=[order("501", status="awaiting-pickup"), order("502", status="processing")])
    page = staff.get("/admin/settings/statuses/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Unmapped statuses" in html and "<code>awaiting-pickup</code>" in html
    pk = Order.objects.get(external_id="501").pk
    assert f'href="/admin/orders/{pk}/">501</a>' in html
    response = staff.post(
        "/admin/settings/statuses/",
        {
            "platform": "woocommerce",
            "time_zone": "Europe/Oslo",
            "map:awaiting-pickup": "processing",
            "map:on-hold": "",
        },
    )
    assert response.status_code == 302
    settings = StoreSettings.load()
    assert (settings.platform, settings.time_zone) == ("woocommerce", "Europe/Oslo")
    assert settings.status_map == {"awaiting-pickup": "processing"}
    assert "Unmapped statuses" not in staff.get("/admin/settings/statuses/").content.decode()


def test_a_wrong_time_zone_is_refused_and_nothing_changes(staff, store):
    response = staff.post(
        "/admin/settings/statuses/", {"platform": "magento", "time_zone": "Nowhere/Else"}, follow=True
    )
    assert "time zone" in response.content.decode()
    assert StoreSettings.load().platform == "generic"


def test_the_page_needs_staff(client, store):
    assert client.get("/admin/settings/statuses/").status_code in (302, 403)


def test_the_order_page_history_says_what_each_status_meant(staff, store):
    store.platform = "magento"
    store.save()
    first = order("601", status="pending")
    ingest.ingest(orders=[first])
    ingest.ingest(orders=[{**first, "status": "canceled", "updated_at": "2026-11-21T08:00:00+00:00"}])
    html = staff.get(f"/admin/orders/{Order.objects.get(external_id='601').pk}/").content.decode()
    assert "means pending → cancelled" in html
