"""Fixtures for the support tests: orders ingested as the shop sends them, customers with accounts."""

from __future__ import annotations

import pytest
from support_kit import make_account, sign_in

from factories import order as order_snapshot
from shopmail.store.ingest import ingest
from shopmail.store.models import Customer, Order


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    """Argon2 costs 0.2 s a hash; tests that check the real hasher opt back in."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


@pytest.fixture
def make_order(store):
    def make(order_id: str = "10023", customer: dict | None = None, **overrides) -> Order:
        data = order_snapshot(order_id, **overrides)
        if customer is not None:
            data["customer"] = customer
        result = ingest(orders=[data])
        assert not result.rejected, result
        return Order.objects.get(external_id=order_id)

    return make


@pytest.fixture
def ana(make_order):
    """Customer c-ana with an account and two orders (A-1 processing, A-2 pending)."""
    customer = {
        "id": "c-ana",
        "email": "ana@example.com",
        "first_name": "Ana",
        "last_name": "Silva",
        "language": "en",
    }
    make_order("A-1", customer=customer, status="processing")
    make_order("A-2", customer=customer, status="pending", created_at="2026-11-22T09:00:00+00:00")
    stored = Customer.objects.get(external_id="c-ana")
    make_account(stored)
    return stored


@pytest.fixture
def bob(make_order):
    customer = {
        "id": "c-bob",
        "email": "bob@example.com",
        "first_name": "Bob",
        "last_name": "Berg",
        "language": "en",
    }
    make_order("B-1", customer=customer, status="processing")
    stored = Customer.objects.get(external_id="c-bob")
    make_account(stored)
    return stored


@pytest.fixture
def ana_client(ana):
    """A browser session signed in to My page as Ana."""
    from django.test import Client

    client = Client()
    sign_in(client, ana.email)
    return client
