"""U+0000 anywhere in a snapshot (a value or a key of free JSON) is refused with a 422 naming it:
PostgreSQL cannot store it in text or jsonb, and answered 500 (found by schemathesis)."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.store.models import Order, Product

pytestmark = pytest.mark.django_db


def test_nul_in_a_key_of_a_product_is_refused_and_nothing_stored(api):
    response = api.put("/products/MUG-01", {"sku": "MUG-01", "name": "Mug", "extra": {"a\x00b": 1}})
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"][0]["msg"]
    assert not Product.objects.exists()


def test_nul_in_an_order_value_is_refused(api):
    body = order("77", status="processing")
    body["lines"][0]["name"] = "Mug\x00"
    assert api.put("/orders/77", body).status_code == 422
    assert not Order.objects.exists()


def test_the_text_backslash_u0000_is_an_ordinary_string(api):
    body = order("78", status="processing")
    body["lines"][0]["name"] = "Mug \\u0000 edition"
    assert api.put("/orders/78", body).status_code == 200
    assert Order.objects.get().snapshot["lines"][0]["name"] == "Mug \\u0000 edition"
