"""A newsletter opt-in that arrives inside an order's customer counts exactly as one sent on its
own (SPEC 3; issue 20, item 6)."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.flows.ingest import ingest
from shopmail.newsletter import segments
from shopmail.store.models import Customer

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.mark.parametrize("at", [None, "2026-11-19T09:00:00+00:00"])
def test_opt_in_inside_an_order_subscribes(store, at):
    data = order("N-1", status="processing")
    data["customer"].update(newsletter_opt_in=True, **({"newsletter_opt_in_at": at} if at else {}))
    assert not ingest(orders=[data]).rejected
    customer = Customer.objects.get(external_id="c-N-1")
    assert customer.newsletter_opt_in
    assert customer.newsletter_opt_in_at is not None, "the time it arrived is used when it is missing"
    assert list(segments.opted_in().values_list("external_id", flat=True)) == ["c-N-1"]
    assert segments.count({}) == 1


def test_opt_in_inside_an_order_equals_a_customer_sent_on_its_own(store):
    alone = {"id": "c-alone", "email": "alone@example.com", "newsletter_opt_in": True}
    assert not ingest(customers=[alone]).rejected
    data = order("N-2", status="processing")
    data["customer"]["newsletter_opt_in"] = True
    assert not ingest(orders=[data]).rejected
    assert set(segments.opted_in().values_list("external_id", flat=True)) == {"c-alone", "c-N-2"}


def test_my_page_says_subscribed_under_a_ticked_box(store, client):
    from fixtures.customer_kit import make_account, sign_in

    data = order("N-3", status="processing")
    data["customer"]["newsletter_opt_in"] = True
    assert not ingest(orders=[data]).rejected
    customer = Customer.objects.get(external_id="c-N-3")
    make_account(customer)
    sign_in(client, customer.email)
    page = client.get("/account/settings/").content.decode()
    assert "You are not subscribed" not in page
    assert "You subscribed on" in page
