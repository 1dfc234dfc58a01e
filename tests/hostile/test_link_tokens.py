"""Live reset and invitation links in the message log (issue 19, finding 3).

With an API key alone, inviting a customer and reading the invitation from
``GET /api/v1/messages/{id}`` (or the panel's message view) gave a working link; an invitation
also overwrote the password of a customer who already had one.
"""

from __future__ import annotations

import pytest
from django.test import Client

from fixtures.customer_kit import PASSWORD, link_in, make_account, sign_in
from shopmail.account.models import AccountToken
from shopmail.mail.models import Message, Payload
from shopmail.store.models import Customer

NEW_PASSWORD = "Quiet-meadow-river-97"


@pytest.fixture
def carla(make_order):
    make_order("C-1", customer={"id": "c-carla", "email": "carla@example.com", "first_name": "Carla"})
    return Customer.objects.get(external_id="c-carla")


def _invite(api) -> Message:
    response = api.post("/events", {"type": "customer.invite", "data": {"customer": "c-carla"}})
    assert response.status_code == 202, response.content
    [summary] = response.json()["messages"]
    return Message.objects.get(pk=summary["id"])


def test_the_api_and_the_panel_show_the_link_without_its_token(api, staff_client, carla):
    message = _invite(api)
    stored = Payload.objects.get(pk=message.pk)
    path = link_in(stored.text, "/account/invite/")  # the stored text, as composed
    token = path.split("/")[-2]
    assert token.encode() in bytes(stored.raw) or token in bytes(stored.raw).decode("ascii", "replace")

    detail = api.get(f"/messages/{message.pk}")
    assert detail.status_code == 200
    assert token not in detail.content.decode()
    assert "/account/invite/[redacted]/" in detail.json()["text"]
    assert "/account/invite/[redacted]/" in detail.json()["html"]
    page = staff_client.get(f"/admin/messages/{message.pk}/")
    assert page.status_code == 200 and token not in page.content.decode()
    assert "/account/invite/[redacted]/" in page.content.decode()

    # the stored bytes the worker sends stay whole: the link works for the customer
    customer = Client()
    assert customer.get(path).status_code == 200
    done = customer.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    sign_in(customer, "carla@example.com", NEW_PASSWORD)


def test_a_password_reset_is_redacted_too(staff_client, carla):
    from shopmail.account import mailing

    make_account(carla)
    message = mailing.reset(carla)
    assert message is not None
    token = link_in(Payload.objects.get(pk=message.pk).text, "/account/reset/").split("/")[-2]
    page = staff_client.get(f"/admin/messages/{message.pk}/").content.decode()
    assert token not in page and "/account/reset/[redacted]/" in page


def test_an_invitation_to_a_customer_with_a_password_is_a_reset(api, carla):
    make_account(carla, PASSWORD)
    message = _invite(api)
    assert message.notification == "password_reset"
    [row] = AccountToken.objects.filter(used_at__isnull=True)
    assert row.purpose == AccountToken.Purpose.RESET
    assert (row.expires_at - row.created_at).total_seconds() == 24 * 3600  # a reset's own expiry
    path = link_in(Payload.objects.get(pk=message.pk).text, "/account/reset/")
    assert "/account/invite/" not in Payload.objects.get(pk=message.pk).text
    # the old password still works until the customer chooses a new one through the reset
    sign_in(Client(), "carla@example.com", PASSWORD)
    assert Client().get(path).status_code == 200


def test_an_older_invitation_cannot_overwrite_a_password_chosen_since(api, carla):
    message = _invite(api)
    path = link_in(Payload.objects.get(pk=message.pk).text, "/account/invite/")
    make_account(carla, PASSWORD)  # e.g. through a reset, or set by the shop since
    attacker = Client()
    assert attacker.get(path).status_code == 410
    response = attacker.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 410
    sign_in(Client(), "carla@example.com", PASSWORD)  # unchanged
