"""Signing in and out, session rotation, throttling per account, and password change."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from panel_support import STAFF_EMAIL, STAFF_PASSWORD, password_hash

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def test_sign_in_rotates_the_session_and_lands_on_the_dashboard(client, staff_user):
    page = client.get(LOGIN)
    assert page.status_code == 200 and b'autocomplete="username"' in page.content
    client.cookies["sessionid"] = "fixated-session-id"
    response = client.post(LOGIN, {"username": STAFF_EMAIL.upper(), "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.cookies["sessionid"].value != "fixated-session-id"
    assert client.session[SESSION_KEY] == str(staff_user.pk)
    assert client.get("/admin/").status_code == 200


def test_sign_in_follows_next_but_only_on_this_site(client, staff_user):
    response = client.post(
        LOGIN + "?next=/admin/orders/",
        {"username": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": "/admin/orders/"},
    )
    assert response["Location"] == "/admin/orders/"
    client.logout()
    response = client.post(
        LOGIN, {"username": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


def test_wrong_password_and_non_staff_are_refused(client, staff_user):
    from django.contrib.auth import get_user_model

    response = client.post(LOGIN, {"username": STAFF_EMAIL, "password": "wrong"})
    assert response.status_code == 200 and b"do not match a staff account" in response.content
    assert SESSION_KEY not in client.session
    get_user_model().objects.create(username="shopper@example.com", password=password_hash())
    response = client.post(LOGIN, {"username": "shopper@example.com", "password": STAFF_PASSWORD})
    assert b"not a member of the store" in response.content and SESSION_KEY not in client.session


def test_sixth_attempt_is_locked_even_with_the_right_password(client, staff_user):
    from django.contrib.auth import get_user_model

    for _ in range(4):
        assert client.post(LOGIN, {"username": STAFF_EMAIL, "password": "nope"}).status_code == 200
    fifth = client.post(LOGIN, {"username": STAFF_EMAIL, "password": "nope"})
    assert fifth.status_code == 429
    sixth = client.post(LOGIN, {"username": STAFF_EMAIL, "password": STAFF_PASSWORD})
    assert sixth.status_code == 429 and SESSION_KEY not in client.session
    # per account: a colleague (same IP) can still sign in
    get_user_model().objects.create(username="colleague@shop.test", password=password_hash(), is_staff=True)
    other = Client()
    response = other.post(LOGIN, {"username": "colleague@shop.test", "password": STAFF_PASSWORD})
    assert response.status_code == 302 and SESSION_KEY in other.session
    # the case of the address does not give five more tries
    again = Client().post(LOGIN, {"username": STAFF_EMAIL.upper(), "password": STAFF_PASSWORD})
    assert again.status_code == 429


def test_lockout_page_for_axes(client, staff_user, settings):
    """``AXES_LOCKOUT_CALLABLE = "shopmail.panel.auth.lockout_response"`` gives a readable page."""
    settings.AXES_LOCKOUT_CALLABLE = "shopmail.panel.auth.lockout_response"
    for _ in range(5):
        response = client.post(LOGIN, {"username": STAFF_EMAIL, "password": "nope"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many sign-in attempts" in page and "locked for 15 minutes" in page
    assert 'href="/admin/login/"' in page


def test_sign_out_is_post_only(staff):
    assert staff.get("/admin/logout/").status_code == 405
    response = staff.post("/admin/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert staff.get("/admin/").status_code == 302


def test_password_change_keeps_the_session(staff, staff_user):
    response = staff.post(
        "/admin/password/",
        {"old_password": STAFF_PASSWORD, "new_password1": "a-new-long-passphrase", "new_password2": "x"},
    )
    assert response.status_code == 200 and b"errorlist" in response.content
    response = staff.post(
        "/admin/password/",
        {
            "old_password": STAFF_PASSWORD,
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302
    assert staff.get("/admin/").status_code == 200
    staff_user.refresh_from_db()
    assert staff_user.check_password("a-new-long-passphrase")


def test_deactivated_staff_is_signed_out(staff, clerk):
    theirs = Client()
    theirs.force_login(clerk)
    assert theirs.get("/admin/").status_code == 200
    response = staff.post(f"/admin/staff/{clerk.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    assert theirs.get("/admin/").status_code == 302
