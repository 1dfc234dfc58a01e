"""The order, sync, customer and product endpoints (SPEC section 2)."""

from __future__ import annotations

import pytest

from factories import evolve, order, shipment
from shopmail.mail.models import Message
from shopmail.store.models import Customer, Order, OrderEvent, Product, StoreSettings

pytestmark = pytest.mark.django_db(transaction=False)


def test_put_order_without_key_is_401_and_changes_nothing(client, store):
    response = client.put("/api/v1/orders/1", data=order("1"), content_type="application/json")
    assert response.status_code == 401
    wrong = client.put(
        "/api/v1/orders/1",
        data=order("1"),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer sm_000000000000_nope",
    )
    assert wrong.status_code == 401
    assert Order.objects.count() == 0


def test_revoked_key_is_refused(api, store):
    from shopmail.api import keys
    from shopmail.api.models import ApiKey

    assert api.get("/settings").status_code == 200
    keys.revoke(ApiKey.objects.get())
    assert api.get("/settings").status_code == 401


def test_key_is_stored_as_argon2_hash(api):
    from shopmail.api.models import ApiKey

    key = ApiKey.objects.get()
    assert key.hashed.startswith("$argon2")
    assert api.headers["HTTP_AUTHORIZATION"].split()[1] not in key.hashed


def test_put_new_order_queues_messages_and_answers_them(api):
    response = api.put("/orders/10023", order())
    assert response.status_code == 200
    body = response.json()
    assert body["order"] == "10023" and body["stale"] is False
    assert [c["rule"] for c in body["changes"]] == ["order_received"]
    assert {(m["notification"], m["to"]) for m in body["messages"]} == {
        ("order_received", "customer10023@example.com"),
        ("admin_order_placed", "staff@shop.test"),
    }
    assert Message.objects.count() == 2
    assert Customer.objects.get(external_id="c-10023").email == "customer10023@example.com"


def test_same_order_put_five_times_queues_once(api):
    snap = order(status="processing")
    for _ in range(5):
        assert api.put("/orders/10023", snap).status_code == 200
    assert sorted(Message.objects.values_list("notification", flat=True)) == [
        "admin_order_placed",
        "order_confirmed",
    ]


def test_stale_snapshot_is_answered_stale_and_changes_nothing(api):
    first = order(status="processing")
    api.put("/orders/10023", evolve(first, 30, status="invoiced"))
    before = Order.objects.get().snapshot
    response = api.put("/orders/10023", evolve(first, 10, status="cancelled"))
    assert response.json()["stale"] is True
    assert response.json()["messages"] == []
    assert Order.objects.get().snapshot == before


def test_history_includes_changes_that_sent_nothing(api, store):
    store.rules = {"picked": False}
    store.save()
    snap = order(status="processing")
    api.put("/orders/10023", snap)
    api.put("/orders/10023", evolve(snap, 5, picked=True))
    history = api.get("/orders/10023").json()["history"]
    assert [(h["rule"], h["outcome"]) for h in history] == [
        ("order_confirmed", "queued:order_confirmed"),
        ("picked", "rule_off"),
    ]
    assert history[0]["message"] is not None


def test_order_before_notify_since_is_stored_but_silent(api, store):
    import datetime as dt

    store.notify_since = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    store.save()
    response = api.put("/orders/10023", order(status="processing"))
    assert response.json()["messages"] == []
    assert api.get("/orders/10023").json()["history"][0]["outcome"] == "notify_since"
    # later changes to that order notify as usual
    later = api.put("/orders/10023", evolve(order(status="processing"), 5, picked=True)).json()
    assert [m["notification"] for m in later["messages"]] == ["order_updated"]


def test_order_placed_in_the_second_the_store_was_set_up_is_notified(api, store):
    # Shops send whole seconds; a store set up at 10:00:00.7 took an order stamped 10:00:00 for an old one.
    StoreSettings.objects.all().delete()
    fresh = StoreSettings.load()
    assert fresh.notify_since.microsecond == 0
    stamp = fresh.notify_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    response = api.put(
        "/orders/10024", order("10024", status="processing", created_at=stamp, updated_at=stamp)
    )
    assert [m["notification"] for m in response.json()["messages"]] == ["order_confirmed"]


def test_invalid_order_is_422_naming_every_field_and_changes_nothing(api):
    bad = order()
    bad["customer"]["email"] = "a@x.com, evil@y.com"
    bad["totals"]["total"] = "thirty"
    bad["lines"][0]["quantity"] = -1
    del bad["created_at"]
    response = api.put("/orders/10023", bad)
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert ("body", "customer", "email") in locs
    assert ("body", "totals", "total") in locs
    assert ("body", "lines", 0, "quantity") in locs
    assert ("body", "created_at") in locs
    assert all(e["msg"] for e in response.json()["detail"])
    assert Order.objects.count() == 0 and Message.objects.count() == 0 and Customer.objects.count() == 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("status", "pro\r\ncessing"),
        ("number", "1\x00"),
        ("currency", "euro"),
        ("updated_at", "2026-11-21T25:00:00"),  # no such hour (a time without a zone is fine)
    ],
)
def test_hostile_values_are_refused(api, field, value):
    response = api.put("/orders/10023", order(**{field: value}))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert Order.objects.count() == 0


def test_malformed_json_is_422(api):
    response = api.put("/orders/10023", b'{"id": "10023",')
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"][0]["msg"]


def test_body_id_must_match_url(api):
    response = api.put("/orders/999", order("10023"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "id"]


def test_sync_batch_is_all_or_nothing(api):
    bad = order("2")
    bad["lines"][0]["unit_price"] = "ten"
    response = api.post("/sync", {"orders": [order("1"), bad, order("3")]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "orders", 1]
    assert Order.objects.count() == 0 and Message.objects.count() == 0


def test_sync_partial_applies_the_valid_and_lists_the_rejected(api):
    bad = order("2")
    bad["lines"][0]["unit_price"] = "ten"
    body = api.post("/sync", {"orders": [order("1"), bad, order("3")], "partial": True}).json()
    assert body["counts"]["orders"] == {
        "seen": 3,
        "new": 2,
        "changed": 0,
        "unchanged": 0,
        "stale": 0,
        "rejected": 1,
    }
    assert body["rejected"][0]["index"] == 1 and body["rejected"][0]["id"] == "2"
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["1", "3"]


def test_sync_dry_run_reports_messages_and_changes_nothing(api):
    body = api.post("/sync", {"orders": [order("1", status="processing")], "dry_run": True}).json()
    assert body["dry_run"] is True
    assert {m["notification"] for m in body["messages"]} == {"order_confirmed", "admin_order_placed"}
    assert all(m["id"] is None for m in body["messages"])
    assert Order.objects.count() == 0 and Message.objects.count() == 0 and OrderEvent.objects.count() == 0


def test_silent_sync_stores_and_sends_nothing(api):
    body = api.post("/sync", {"orders": [order("1", status="processing")], "silent": True}).json()
    assert body["messages"] == [] and Order.objects.count() == 1
    assert Message.objects.count() == 0


def test_sync_unknown_field_and_wrong_types(api):
    response = api.post("/sync", {"orders": {}, "dry_run": "yes", "bogus": 1})
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "orders"] in locs and ["body", "dry_run"] in locs and ["body", "bogus"] in locs


def test_sync_unchanged_orders_are_skipped(api):
    orders = [order(str(i), status="processing") for i in range(5)]
    api.post("/sync", {"orders": orders})
    body = api.post("/sync", {"orders": orders}).json()
    assert body["counts"]["orders"]["unchanged"] == 5
    assert body["messages"] == []


def test_restock_tells_orders_waiting_for_it(api):
    api.put("/products/MUG-01", {"name": "Mug", "stock_quantity": 0})
    waiting = order("1", status="processing")
    waiting["lines"][0]["backordered"] = True
    api.put("/orders/1", waiting)
    other = order("2", status="processing")  # not back-ordered
    api.put("/orders/2", other)
    body = api.put("/products/MUG-01", {"name": "Mug", "stock_quantity": 5}).json()
    assert [(m["order"], m["notification"]) for m in body["messages"]] == [("1", "order_updated")]
    assert Product.objects.get().stock_quantity == 5
    # a second restock report with the same stock sends nothing
    assert api.put("/products/MUG-01", {"name": "Mug", "stock_quantity": 5}).json()["messages"] == []


def test_restock_without_open_backorder_sends_nothing(api):
    api.put("/products/MUG-01", {"stock_quantity": 0})
    assert api.put("/products/MUG-01", {"stock_quantity": 5}).json()["messages"] == []


def test_customer_upsert(api):
    body = api.put(
        "/customers/c-1",
        {
            "email": "ana@example.com",
            "first_name": "Ana",
            "language": "nb",
            "newsletter_opt_in": True,
            "newsletter_opt_in_at": "2026-01-01T00:00:00Z",
        },
    )
    assert body.status_code == 200
    assert body.json()["language"] == "nb"
    assert api.put("/customers/c-1", {"email": "not-an-email"}).status_code == 422
    assert Customer.objects.get().email == "ana@example.com"


def test_two_shipments_through_the_api(api):
    snap = order(status="processing")
    snap["lines"].append({"id": "2", "sku": "TEE", "name": "T-shirt", "quantity": 1, "unit_price": "15.00"})
    api.put("/orders/1", dict(snap, id="1"))
    one = evolve(dict(snap, id="1"), 5, shipments=[shipment("s1", {"1": 2})])
    assert [m["notification"] for m in api.put("/orders/1", one).json()["messages"]] == [
        "order_partially_shipped"
    ]
    two = evolve(one, 6, shipments=[*one["shipments"], shipment("s2", {"2": 1})])
    assert [m["notification"] for m in api.put("/orders/1", two).json()["messages"]] == ["order_shipped"]
    assert api.put("/orders/1", evolve(two, 7)).json()["messages"] == []


def test_settings_roundtrip_and_secrets_write_only(api):
    response = api.patch(
        "/settings",
        {
            "admin_email": "boss@shop.test",
            "rules": {"picked": False},
            "transport": {
                "kind": "smtp",
                "host": "127.0.0.1",
                "port": 2525,
                "security": "none",
                "username": "u",
                "password": "s3cret",
            },
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["admin_email"] == "boss@shop.test" and body["rules"]["picked"] is False
    assert "password" not in body["transport"] and body["transport"]["password_set"] is True
    assert b"s3cret" not in api.get("/settings").content
    from shopmail.core import secretbox

    stored = StoreSettings.load().transport["password"]
    assert stored.startswith("sealed:") and secretbox.unseal(stored) == "s3cret"
    bad = api.patch("/settings", {"rules": {"nope": True}, "admin_email": "x", "default_language": "english"})
    assert bad.status_code == 422
    assert len(bad.json()["detail"]) == 3
    assert StoreSettings.load().admin_email == "boss@shop.test"


def test_openapi_document_is_served(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/orders/{order_id}",
        "/api/v1/sync",
        "/api/v1/settings",
        "/api/v1/events",
        "/api/v1/products/{sku}",
        "/api/v1/customers/{customer_id}",
    ):
        assert path in paths
