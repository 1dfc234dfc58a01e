"""``Idempotency-Key`` on every POST (SPEC section 2): a repeat answers the first answer and does
nothing again; the same key with another body is 409; keys are per API key and kept 24 hours."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import order
from shopmail.api.models import IdempotencyKey
from shopmail.mail.models import Message
from shopmail.store.models import Order, SyncRun
from shopmail.support.models import ContactMessage

pytestmark = pytest.mark.django_db(transaction=False)

CONTACT = {  # no event "id": without the header, each POST is a new contact message
    "type": "contact.submitted",
    "data": {"name": "Ola", "email": "ola@kafe.example.no", "subject": "Hi", "message": "Hello"},
}


def key(value: str) -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": value}


def test_repeated_event_with_the_same_key_is_sent_once_and_answered_alike(api):
    first = api.post("/events", CONTACT, **key("evt-1"))
    assert first.status_code == 202
    again = api.post("/events", CONTACT, **key("evt-1"))
    assert again.status_code == 202
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert ContactMessage.objects.count() == 1
    assert Message.objects.filter(notification="admin_contact_message").count() == 1


def test_without_a_key_each_post_counts(api):
    api.post("/events", CONTACT)
    api.post("/events", CONTACT)
    assert ContactMessage.objects.count() == 2


def test_same_key_with_another_body_is_409_and_changes_nothing(api):
    api.post("/events", CONTACT, **key("evt-2"))
    other = {**CONTACT, "data": {**CONTACT["data"], "message": "Something else"}}
    response = api.post("/events", other, **key("evt-2"))
    assert response.status_code == 409
    assert "another request" in response.json()["detail"]
    assert ContactMessage.objects.count() == 1
    elsewhere = api.post("/sync", {"orders": []}, **key("evt-2"))  # another path is another request
    assert elsewhere.status_code == 409


def test_keys_belong_to_one_api_key(api, client):
    from shopmail.api import keys

    _, plain = keys.create("second shop")
    other = type(api)(client, plain)
    api.post("/events", CONTACT, **key("shared"))
    assert other.post("/events", CONTACT, **key("shared")).status_code == 202
    assert ContactMessage.objects.count() == 2


def test_a_key_is_forgotten_after_24_hours(api):
    api.post("/events", CONTACT, **key("evt-3"))
    IdempotencyKey.objects.update(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=24, minutes=1))
    assert "Idempotent-Replayed" not in api.post("/events", CONTACT, **key("evt-3"))
    assert ContactMessage.objects.count() == 2


def test_sync_with_the_same_key_runs_once(api):
    body = {"orders": [order("10023", status="processing")]}
    first = api.post("/sync", body, **key("sync-1"))
    again = api.post("/sync", body, **key("sync-1"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert SyncRun.objects.count() == 1
    assert Order.objects.count() == 1


def test_a_refused_request_is_answered_the_same_again(api):
    bad = {"orders": [{"id": "1"}]}
    first = api.post("/sync", bad, **key("bad-1"))
    assert first.status_code == 422
    again = api.post("/sync", bad, **key("bad-1"))
    assert (again.status_code, again.content) == (422, first.content)


def test_a_repeat_while_the_first_runs_is_409(api):
    from shopmail.api.models import ApiKey

    IdempotencyKey.objects.create(
        api_key=ApiKey.objects.get(), key="busy", fingerprint="x" * 64, status=None
    )  # the first call with this key is still running (its fingerprint differs: checked first)
    response = api.post("/events", CONTACT, **key("busy"))
    assert response.status_code == 409
    assert ContactMessage.objects.count() == 0


def test_a_bad_key_is_422_and_a_missing_api_key_still_401(api, client):
    response = api.post("/events", CONTACT, **key("x" * 256))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    anonymous = client.post("/api/v1/events", CONTACT, content_type="application/json", **key("evt-9"))
    assert anonymous.status_code == 401
    assert ContactMessage.objects.count() == 0 and IdempotencyKey.objects.count() == 0
