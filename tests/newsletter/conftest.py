"""Fixtures of the newsletter tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_caches():
    from shopmail.newsletter import mailing

    mailing.clear_caches()  # ids repeat between tests (their transactions are rolled back)
    yield
    mailing.clear_caches()


@pytest.fixture
def staff_user(store):
    from django.contrib.auth import get_user_model

    user = get_user_model()(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    user.set_password("violet-otter-harbour-42")
    user.save()
    return user


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client
