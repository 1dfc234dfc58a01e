"""Fixtures of the control-panel tests: staff and non-staff users, signed-in clients, an order."""

from __future__ import annotations

import pytest
from panel_support import STAFF_EMAIL, password_hash

from factories import order


@pytest.fixture
def staff_user(store):
    """An administrator (as ``shopmail createadmin`` makes one)."""
    from django.contrib.auth import get_user_model

    user = get_user_model()(username=STAFF_EMAIL, email=STAFF_EMAIL, is_staff=True, is_superuser=True)
    user.password = password_hash()
    user.save()
    return user


@pytest.fixture
def clerk(store):
    """Staff, but not an administrator."""
    from django.contrib.auth import get_user_model

    user = get_user_model()(username="clerk@shop.test", email="clerk@shop.test", is_staff=True)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def customer_user(store):
    """A signed-in user who is not staff."""
    from django.contrib.auth import get_user_model

    user = get_user_model()(username="someone@example.com", email="someone@example.com")
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def placed(store):
    """Order 10023 (processing): order_confirmed and admin_order_placed queued."""
    from shopmail.flows.ingest import ingest
    from shopmail.store.models import Order

    ingest(orders=[order("10023", status="processing")])
    return Order.objects.get(external_id="10023")
