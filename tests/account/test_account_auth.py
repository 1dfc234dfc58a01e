"""Accounts: invitations, sign-in, forgotten and changed passwords, sessions and throttling."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from fixtures.customer_kit import PASSWORD, link_in, make_account, rendered, sign_in
from shopmail.account import throttle
from shopmail.account.models import AccountToken, CustomerAccount
from shopmail.account.views import auth as auth_views
from shopmail.mail.models import Message
from shopmail.store.models import Customer

NEW_PASSWORD = "Quiet-meadow-river-97"


@pytest.fixture(autouse=True)
def _quick_reset_answer(monkeypatch):
    monkeypatch.setattr(auth_views, "RESET_ANSWER_SECONDS", 0.05)


@pytest.fixture
def carla(make_order):
    make_order(
        "C-1",
        customer={"id": "c-carla", "email": "Carla@Example.com", "first_name": "Carla", "language": "de"},
        status="processing",
    )
    return Customer.objects.get(external_id="c-carla")


def signed_in(client) -> bool:
    response = client.get("/account/")
    return response.status_code == 200


# --------------------------------------------------------------------------- invitations


def test_invite_event_sends_one_time_link_and_no_password(api, carla):
    response = api.post("/events", {"type": "customer.invite", "data": {"customer": "c-carla"}})
    assert response.status_code == 202, response.content
    [summary] = response.json()["messages"]
    assert summary["notification"] == "account_invite" and summary["to"] == "Carla@Example.com"
    mail = rendered(Message.objects.get(pk=summary["id"]))
    path = link_in(mail.text, "/account/invite/")
    token = path.split("/")[-2]
    assert AccountToken.objects.get().digest != token and token not in str(
        AccountToken.objects.values().get()
    )
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and b"Carla@Example.com" in page.content

    weak = client.post(path, {"new_password1": "12345678", "new_password2": "12345678"})
    # Carla writes German: the invitation page and Django's password checks speak it (SPEC 7)
    assert weak.status_code == 400 and "zu kurz" in weak.content.decode()
    assert b"Einladung annehmen" in weak.content
    mismatch = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400

    done = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/account/login/"
    assert not signed_in(client), "choosing a password must not sign in"
    assert (
        client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 410
    )
    assert client.get(path).status_code == 410
    sign_in(client, "carla@example.com", NEW_PASSWORD)  # the address is matched case-insensitively
    assert signed_in(client)
    assert NEW_PASSWORD not in mail.text and NEW_PASSWORD not in mail.html


def test_invite_replayed_event_id_sends_once_and_unknown_customer_is_422(api, carla):
    body = {"type": "customer.invite", "data": {"id": "inv-1", "customer": "c-carla"}}
    assert len(api.post("/events", body).json()["messages"]) == 1
    assert api.post("/events", body).json()["messages"] == []
    unknown = api.post("/events", {"type": "customer.invite", "data": {"customer": "nope"}})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "data", "customer"]


def test_invite_event_with_full_customer_upserts_it(api, store):
    customer = {"id": "c-new", "email": "new@example.com", "first_name": "Nina", "language": "nb"}
    response = api.post("/events", {"type": "customer.invite", "data": {"customer": customer}})
    assert response.status_code == 202
    assert Customer.objects.get(external_id="c-new").first_name == "Nina"
    message = Message.objects.get(notification="account_invite")
    assert message.payload.language == "nb"


def test_new_invite_voids_the_previous_link(carla):
    from shopmail.account import mailing

    first = link_in(rendered(mailing.invite(carla)).text, "/account/invite/")
    second = link_in(rendered(mailing.invite(carla)).text, "/account/invite/")
    client = Client()
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_expired_invite_is_refused(carla):
    from shopmail.account import mailing

    path = link_in(rendered(mailing.invite(carla)).text, "/account/invite/")
    AccountToken.objects.update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    response = Client().post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert not CustomerAccount.objects.get(customer=carla).password


def test_passwords_are_stored_with_argon2(settings, carla):
    from shopmail.account import auth

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    account = make_account(carla, NEW_PASSWORD)
    assert account.password.startswith("argon2$argon2id$")
    assert auth.authenticate("carla@example.com", NEW_PASSWORD) == account
    assert auth.authenticate("carla@example.com", "wrong") is None


# --------------------------------------------------------------------------- forgotten password


def test_reset_same_answer_for_known_and_unknown_address(client, ana):
    known = client.post("/account/forgot/", {"email": "ana@example.com"})
    unknown = client.post("/account/forgot/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/account/forgot/sent/"
    assert client.get(known["Location"]).content == client.get(unknown["Location"]).content
    assert list(Message.objects.filter(notification="password_reset").values_list("to_email", flat=True)) == [
        "ana@example.com"
    ]


def test_reset_answers_no_sooner_than_the_floor_either_way(client, ana, monkeypatch):
    import time

    monkeypatch.setattr(auth_views, "RESET_ANSWER_SECONDS", 0.3)
    timings = []
    for email in ("ana@example.com", "nobody@example.com"):
        started = time.monotonic()
        client.post("/account/forgot/", {"email": email})
        timings.append(time.monotonic() - started)
    assert min(timings) >= 0.3
    assert abs(timings[0] - timings[1]) < 0.25


def test_reset_link_once_no_auto_login_and_other_sessions_signed_out(ana, ana_client):
    client = Client()
    client.post("/account/forgot/", {"email": "ANA@example.com"})
    mail = rendered(Message.objects.get(notification="password_reset"))
    path = link_in(mail.text, "/account/reset/")
    assert PASSWORD not in mail.text
    done = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/account/login/"
    assert not signed_in(client)
    assert not signed_in(ana_client), "a reset signs out the sessions made with the old password"
    again = client.post(
        path, {"new_password1": "Another-long-phrase-12", "new_password2": "Another-long-phrase-12"}
    )
    assert again.status_code == 410
    assert client.post("/account/login/", {"email": ana.email, "password": PASSWORD}).status_code == 400
    sign_in(client, ana.email, NEW_PASSWORD)


def test_reset_link_expires_after_24_hours(client, ana):
    client.post("/account/forgot/", {"email": ana.email})
    token = AccountToken.objects.get(purpose="reset")
    assert dt.timedelta(hours=23) < token.expires_at - token.created_at <= dt.timedelta(hours=24)
    path = link_in(rendered(Message.objects.get(notification="password_reset")).text, "/account/reset/")
    AccountToken.objects.update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert client.get(path).status_code == 410
    assert (
        client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 410
    )


def test_reset_and_invite_tokens_are_not_interchangeable(client, ana):
    client.post("/account/forgot/", {"email": ana.email})
    path = link_in(rendered(Message.objects.get(notification="password_reset")).text, "/account/reset/")
    assert client.get(path.replace("/reset/", "/invite/")).status_code == 410
    assert client.get(path[:-5] + "AAAA/").status_code == 410


def test_reset_requests_throttled_per_address(client, ana):
    for _ in range(5):
        assert client.post("/account/forgot/", {"email": ana.email})["Location"] == "/account/forgot/sent/"
    assert Message.objects.filter(notification="password_reset").count() == throttle.RESET_REQUESTS.count


def test_reset_for_customer_without_account_creates_one(client, carla):
    client.post("/account/forgot/", {"email": "carla@example.com"})
    account = CustomerAccount.objects.get(customer=carla)
    assert not account.password
    assert Message.objects.get(notification="password_reset").to_email == "Carla@Example.com"


# --------------------------------------------------------------------------- signing in


def test_wrong_password_and_unknown_address_get_the_same_answer(client, ana):
    wrong = client.post("/account/login/", {"email": ana.email, "password": "not it"})
    unknown = client.post("/account/login/", {"email": "nobody@example.com", "password": "not it"})
    assert wrong.status_code == unknown.status_code == 400
    message = auth_views.WRONG_LOGIN.encode()
    assert message in wrong.content and message in unknown.content


def test_login_throttled_per_account_and_reset_on_success(ana):
    client = Client()
    for _ in range(throttle.LOGIN_FAILURES.count - 1):
        client.post("/account/login/", {"email": ana.email, "password": "wrong"})
    sign_in(client, ana.email)  # a success clears the count
    client.post("/account/logout/")
    for _ in range(throttle.LOGIN_FAILURES.count):
        assert client.post("/account/login/", {"email": ana.email, "password": "wrong"}).status_code == 400
    locked = Client().post("/account/login/", {"email": ana.email.upper(), "password": PASSWORD})
    assert locked.status_code == 429 and not signed_in(Client())
    # an unknown address locks the same way, so the lock tells nothing about the address
    for _ in range(throttle.LOGIN_FAILURES.count):
        client.post("/account/login/", {"email": "ghost@example.com", "password": "wrong"})
    assert client.post("/account/login/", {"email": "ghost@example.com", "password": "x"}).status_code == 429


def test_reset_lifts_the_login_lock(ana):
    client = Client()
    for _ in range(throttle.LOGIN_FAILURES.count):
        client.post("/account/login/", {"email": ana.email, "password": "wrong"})
    client.post("/account/forgot/", {"email": ana.email})
    path = link_in(rendered(Message.objects.get(notification="password_reset")).text, "/account/reset/")
    client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    sign_in(client, ana.email, NEW_PASSWORD)


def test_login_rotates_the_session_key(client, ana):
    client.get("/account/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.cookies["sessionid"].value
    sign_in(client, ana.email)
    assert client.cookies["sessionid"].value != before


def test_login_needs_csrf_token(ana):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/login/", {"email": ana.email, "password": PASSWORD})
    assert response.status_code == 403


def test_login_redirects_only_inside_my_page(client, ana):
    evil = client.post(
        "/account/login/?next=https://evil.example/x", {"email": ana.email, "password": PASSWORD}
    )
    assert evil["Location"] == "/account/"
    client.post("/account/logout/")
    order = ana.orders.first()
    good = client.post(
        "/account/login/", {"email": ana.email, "password": PASSWORD, "next": f"/account/orders/{order.pk}/"}
    )
    assert good["Location"] == f"/account/orders/{order.pk}/"


def test_logout_needs_post(ana_client):
    assert ana_client.get("/account/logout/").status_code == 405
    assert ana_client.post("/account/logout/").status_code == 302
    assert not signed_in(ana_client)


def test_staff_user_is_not_a_customer(client, django_user_model):
    staff = django_user_model.objects.create_user("staff@shop.test", "staff@shop.test", "x", is_staff=True)
    client.force_login(staff)
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")


# --------------------------------------------------------------------------- changing the password


def test_password_change_needs_the_current_one(ana, ana_client):
    wrong = ana_client.post(
        "/account/password/",
        {"current_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and b"current password is not right" in wrong.content
    other = Client()
    sign_in(other, ana.email)
    before = ana_client.cookies["sessionid"].value
    done = ana_client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert ana_client.cookies["sessionid"].value != before, "the session key is rotated"
    assert signed_in(ana_client)
    assert not signed_in(other), "other sessions are signed out"
    sign_in(Client(), ana.email, NEW_PASSWORD)


def test_password_change_guesses_are_throttled(ana, ana_client):
    for _ in range(throttle.LOGIN_FAILURES.count):
        ana_client.post(
            "/account/password/", {"current_password": "guess", "new_password1": "a", "new_password2": "a"}
        )
    response = ana_client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 429
