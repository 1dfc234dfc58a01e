"""The newsletter API (SPEC section 2): create, show, test, send; keys required; bad input named."""

from __future__ import annotations

import pytest
from newsletter_support import customer, order_for

from shopmail.mail.models import Message
from shopmail.newsletter.models import Newsletter, Segment

pytestmark = pytest.mark.django_db

DRAFT = {"subject": "Winter news", "html": "<h1>Socks</h1><p>Warm feet.</p>", "segment": {"country": "NO"}}


@pytest.fixture
def people(store):
    ana = customer(1, country="NO")
    customer(2, country="NO", language="nb")
    customer(3, country="SE")
    customer(4, country="NO", newsletter_opt_in=False)
    order_for(ana, "o1", skus=("MUG-01",), total="50.00")
    return ana


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/newsletters"),
        ("get", "/newsletters/1"),
        ("post", "/newsletters/1/test"),
        ("post", "/newsletters/1/send"),
    ],
)
def test_every_call_needs_a_key(client, store, method, path):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer sm_nope_wrong"}):
        call = getattr(client, method)
        response = call(f"/api/v1{path}", data=DRAFT, content_type="application/json", **headers)
        assert response.status_code == 401
    assert not Newsletter.objects.exists() and not Message.objects.exists()


def test_create_show_test_send(api, people):
    created = api.post("/newsletters", DRAFT)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["recipients"] == 2
    assert body["segment"] == {"country": ["NO"]}
    assert "Warm feet." in body["text"]  # generated from the HTML

    shown = api.get(f"/newsletters/{body['id']}").json()
    assert shown["delivery"] == {
        "queued": 0, "sent": 0, "deferred": 0, "failed": 0, "cancelled": 0, "held": 0, "unsubscribed": 0, "skipped": 0  # noqa: E501
    }  # fmt: skip

    tested = api.post(f"/newsletters/{body['id']}/test", {"to": ["qa@shop.test"]})
    assert tested.status_code == 202
    assert [m["to"] for m in tested.json()["messages"]] == ["qa@shop.test"]
    assert Newsletter.objects.get(pk=body["id"]).status == "draft"

    sent = api.post(f"/newsletters/{body['id']}/send", {})
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == "queued" and sent.json()["recipients"] == 2
    assert sent.json()["delivery"]["queued"] == 2
    again = api.post(f"/newsletters/{body['id']}/send", {})
    assert again.status_code == 200 and again.json()["delivery"]["queued"] == 2
    assert Message.objects.filter(key__startswith=f"newsletter:{body['id']}:").count() == 2


def test_bad_segment_is_422_naming_each_field_and_changes_nothing(api, people):
    response = api.post(
        "/newsletters",
        {"subject": "", "segment": {"language": "english", "min_orders": -1, "colour": "red"}, "extra": 1},
    )
    assert response.status_code == 422
    locs = sorted(tuple(map(str, error["loc"][:3])) for error in response.json()["detail"])
    assert locs == [
        ("body", "extra"),
        ("body", "segment", "colour"),
        ("body", "segment", "language"),
        ("body", "segment", "min_orders"),
        ("body", "subject"),
    ]
    assert not Newsletter.objects.exists()


def test_not_json_and_unknown_ids(api, store):
    assert api.post("/newsletters", b"{nope").status_code == 422
    assert api.post("/newsletters", ["a list"]).status_code == 422
    assert api.get("/newsletters/999").status_code == 404
    assert api.post("/newsletters/999/send", {}).status_code == 404
    assert api.post("/newsletters/999/test", {"to": ["a@b.test"]}).status_code == 404


def test_test_send_refuses_bad_addresses(api, people):
    letter = api.post("/newsletters", DRAFT).json()
    response = api.post(f"/newsletters/{letter['id']}/test", {"to": ["fine@shop.test", "not an address"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "to", 1]
    assert api.post(f"/newsletters/{letter['id']}/test", {"to": []}).status_code == 422
    assert not Message.objects.exists()


def test_send_options_are_checked(api, people):
    letter = api.post("/newsletters", DRAFT).json()
    bad = api.post(f"/newsletters/{letter['id']}/send", {"at": "tomorrow", "rate_per_hour": 0, "x": 1})
    assert bad.status_code == 422
    assert sorted(e["loc"][1] for e in bad.json()["detail"]) == ["at", "rate_per_hour", "x"]
    assert api.post(f"/newsletters/{letter['id']}/send", {"at": "2030-01-01T10:00:00"}).status_code == 422
    beyond = api.post(f"/newsletters/{letter['id']}/send", {"at": "2030-01-01T10:00:00+19:17"})
    assert beyond.status_code == 422
    assert beyond.json()["detail"] == [{"loc": ["body", "at"], "msg": "has a time zone offset beyond ±14:00"}]
    later = api.post(
        f"/newsletters/{letter['id']}/send", {"at": "2030-01-01T10:00:00+00:00", "rate_per_hour": 100}
    )
    assert later.status_code == 200
    assert later.json()["phase"] == "scheduled" and later.json()["rate_per_hour"] == 100


def test_saved_segments_are_reusable_by_name(api, people):
    first = api.post("/newsletters", {**DRAFT, "segment": {"min_orders": 1}, "save_segment_as": "buyers"})
    assert first.status_code == 201 and first.json()["recipients"] == 1
    assert Segment.objects.get(name="buyers").filters == {"min_orders": 1}
    second = api.post("/newsletters", {"subject": "Again", "text": "Plain words.", "segment_name": "buyers"})
    assert second.status_code == 201
    assert second.json()["segment_name"] == "buyers" and second.json()["recipients"] == 1
    assert second.json()["text"] == "Plain words."
    missing = api.post("/newsletters", {"subject": "x", "segment_name": "nope"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "segment_name"]


def test_listed_without_content(api, people):
    api.post("/newsletters", DRAFT)
    items = api.get("/newsletters").json()["items"]
    assert [i["subject"] for i in items] == ["Winter news"] and "html" not in items[0]
