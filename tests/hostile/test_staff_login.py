"""Staff login lock (issue 19, finding 11): it was per username only, so anyone could keep the
owner locked out, and there was no per-IP limit on password spraying. Now the lock is on the
(username, client IP) pair, one client IP has a limit across usernames, and the client IP comes
from SHOPMAIL_TRUSTED_PROXIES rules."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
OWNER, PASSWORD = "owner@shop.test", "violet-otter-harbour-42"


@pytest.fixture
def owner(store):
    return get_user_model().objects.create(
        username=OWNER, email=OWNER, is_staff=True, is_superuser=True, password=make_password(PASSWORD)
    )


def _fail(client: Client, username: str = OWNER) -> int:
    return client.post(LOGIN, {"username": username, "password": "wrong-guess"}).status_code


def test_an_attacker_cannot_keep_the_owner_locked_out(owner):
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    statuses = [_fail(attacker) for _ in range(django_settings.AXES_FAILURE_LIMIT + 2)]
    assert statuses[-1] == 429  # the attacker's own address is locked for this username
    locked = attacker.post(LOGIN, {"username": OWNER, "password": PASSWORD})
    assert locked.status_code == 429 and SESSION_KEY not in attacker.session
    # the owner, from the shop's address, signs in
    shop = Client(REMOTE_ADDR="198.51.100.10")
    response = shop.post(LOGIN, {"username": OWNER, "password": PASSWORD})
    assert response.status_code == 302 and SESSION_KEY in shop.session


def test_password_spraying_from_one_address_is_limited(owner):
    sprayer = Client(REMOTE_ADDR="203.0.113.77")
    limit = django_settings.STAFF_LOGIN_FAILURES_PER_IP
    for n in range(limit):  # one guess for each of many usernames: no pair reaches its limit
        assert _fail(sprayer, f"staff{n}@shop.test") == 200
    assert _fail(sprayer, "someone-else@shop.test") == 429
    # even the right password of a real account is refused from that address now
    assert sprayer.post(LOGIN, {"username": OWNER, "password": PASSWORD}).status_code == 429
    # normal use: another address is not affected
    assert (
        Client(REMOTE_ADDR="198.51.100.10").post(LOGIN, {"username": OWNER, "password": PASSWORD}).status_code
        == 302
    )


def test_behind_a_trusted_proxy_the_visitor_address_counts(owner, settings):
    settings.SHOPMAIL_TRUSTED_PROXIES = ["127.0.0.1"]
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(django_settings.AXES_FAILURE_LIMIT + 1):
        proxy.post(LOGIN, {"username": OWNER, "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.5")
    # another visitor through the same nginx is not locked out with the attacker
    response = proxy.post(
        LOGIN, {"username": OWNER, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert response.status_code == 302
    # and the attacker cannot escape the lock by writing its own X-Forwarded-For
    again = Client(REMOTE_ADDR="127.0.0.1").post(
        LOGIN, {"username": OWNER, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5"
    )
    assert again.status_code == 429
