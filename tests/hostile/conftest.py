"""Fixtures of the attack tests: a signed-in administrator."""

from __future__ import annotations

import pytest


@pytest.fixture
def staff_client(store, client):
    """A Django test client signed in as an administrator (as ``shopmail createadmin`` makes one)."""
    from django.contrib.auth import get_user_model

    user = get_user_model()(
        username="owner@shop.test", email="owner@shop.test", is_staff=True, is_superuser=True
    )
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    return client
