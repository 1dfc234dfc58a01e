"""A customer's newsletter consent is changed only by data that says something about it (SPEC 3):
an order or customer snapshot without ``newsletter_opt_in`` (a WooCommerce order, most ERPs)
must not unsubscribe a customer who opted in on My page, by the API or in an earlier snapshot."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.store.models import Customer

pytestmark = pytest.mark.django_db


def test_snapshot_without_the_field_keeps_an_opt_in(api):
    customer = {
        "id": "c-1",
        "email": "ana@example.com",
        "newsletter_opt_in": True,
        "newsletter_opt_in_at": "2026-01-01T00:00:00Z",
    }
    assert api.put("/customers/c-1", customer).status_code == 200
    body = order("1", status="processing")
    body["customer"] = {"id": "c-1", "email": "ana@example.com", "first_name": "Ana"}
    assert api.put("/orders/1", body).status_code == 200
    stored = Customer.objects.get(external_id="c-1")
    assert stored.newsletter_opt_in is True and stored.newsletter_opt_in_at is not None
    assert stored.first_name == "Ana"  # the rest of the snapshot still applies


def test_snapshot_saying_false_opts_out_and_a_new_customer_without_it_is_out(api):
    api.put("/customers/c-2", {"id": "c-2", "email": "bo@example.com", "newsletter_opt_in": True})
    api.put("/customers/c-2", {"id": "c-2", "email": "bo@example.com", "newsletter_opt_in": False})
    assert Customer.objects.get(external_id="c-2").newsletter_opt_in is False
    api.put("/customers/c-3", {"id": "c-3", "email": "cy@example.com"})
    assert Customer.objects.get(external_id="c-3").newsletter_opt_in is False
