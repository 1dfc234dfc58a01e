"""Returns and the back-order choice refuse an order the store cancelled, whatever slug its
platform or its status map uses for that (SPEC 3), as they refuse the slug ``cancelled``."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.account import present
from shopmail.flows.ingest import ingest
from shopmail.store.models import Order, StoreSettings
from shopmail.support import backorder, returns
from shopmail.support.models import ReturnRequest

pytestmark = pytest.mark.django_db


STORES = [("woocommerce", {}, "wc-cancelled"), ("generic", {"storniert": "cancelled"}, "storniert")]


@pytest.fixture(params=STORES)
def cancelled(request, store):
    platform, status_map, slug = request.param
    settings = StoreSettings.load()
    settings.platform, settings.status_map = platform, status_map
    settings.save()
    snapshot = order("600", status=slug)
    snapshot["lines"][0]["backordered"] = True
    ingest(orders=[snapshot])
    return Order.objects.select_related("customer").get(external_id="600")


def test_an_order_cancelled_by_the_stores_slug_is_cancelled(cancelled):
    assert cancelled.is_cancelled()
    cancelled.status = "processing"
    assert not cancelled.is_cancelled()


def test_it_cannot_be_returned(cancelled):
    assert not returns.can_return(cancelled)
    with pytest.raises(returns.ReturnRefused) as refused:
        returns.request(cancelled, [{"line_id": "1", "quantity": 1}], "Broken")
    assert {"loc": ["order"], "msg": "a cancelled order cannot be returned"} in refused.value.errors
    assert not ReturnRequest.objects.exists()


def test_its_back_order_choice_is_neither_offered_nor_taken(cancelled):
    assert present.detail(cancelled)["backorder_open"] is False
    order_after, stored = backorder.choose(cancelled, "one_shipment")
    assert stored is False and order_after.backorder_choice == ""
