"""An order cancelled by the store's own status slug (its platform's preset or its status map,
SPEC 3) is cancelled everywhere, not only when the slug is ``cancelled``: it waits for no stock,
so a restock tells its customer nothing and it keeps no back-order line."""

from __future__ import annotations

import pytest

from factories import evolve, order
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message, Payload
from shopmail.store.models import BackorderLine, StoreSettings

pytestmark = pytest.mark.django_db

STORES = [  # platform, the store's own map, an open status, the store's cancelled status
    ("generic", {"storniert": "cancelled"}, "processing", "storniert"),
    ("woocommerce", {}, "processing", "wc-cancelled"),
    ("magento", {}, "processing", "canceled"),
    ("prestashop", {}, "2", "6"),
]


def store_of(platform, status_map):
    settings = StoreSettings.load()
    settings.platform, settings.status_map = platform, status_map
    settings.save()


def back_in_stock_mail():
    told = []
    for message in Message.objects.all():
        changes = Payload.objects.get(pk=message.pk).context.get("changes", [])
        if any(change["rule"] == "back_in_stock" for change in changes):
            told.append(message.notification)
    return told


@pytest.mark.parametrize("platform, status_map, open_status, cancelled", STORES)
def test_a_restock_tells_nothing_to_the_customer_of_an_order_cancelled_by_the_stores_slug(
    store, platform, status_map, open_status, cancelled
):
    store_of(platform, status_map)
    first = order("500", status=open_status)
    first["lines"][0]["backordered"] = True
    ingest(orders=[first], products=[{"sku": "MUG-01", "stock_quantity": 0}])
    assert BackorderLine.objects.filter(sku="MUG-01").exists()  # an open order waits for the mug

    ingest(orders=[evolve(first, 5, status=cancelled)])
    assert not BackorderLine.objects.exists()  # cancelled: it waits for nothing

    ingest(products=[{"sku": "MUG-01", "stock_quantity": 5}])
    assert back_in_stock_mail() == []


def test_a_restock_still_tells_an_open_order_of_the_same_store(store):
    store_of("woocommerce", {})
    first = order("501", status="wc-processing")
    first["lines"][0]["backordered"] = True
    ingest(orders=[first], products=[{"sku": "MUG-01", "stock_quantity": 0}])
    ingest(products=[{"sku": "MUG-01", "stock_quantity": 5}])
    assert back_in_stock_mail() == ["order_updated"]
