"""API keys had no owner and no scope (issue 19, finding 8): any staff user could mint one and it
outlived its creator. Keys now have an owner, optional scopes (ingest, read), an expiry and a
last-used time, and die with a deactivated owner."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from factories import order
from shopmail.api import keys
from shopmail.api.models import ApiKey

pytestmark = pytest.mark.django_db


def _client(plain: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def _put_order(client: Client, plain: str, order_id: str = "1") -> int:
    import orjson

    return client.put(
        f"/api/v1/orders/{order_id}",
        orjson.dumps(order(order_id, status="processing")),
        content_type="application/json",
        **_client(plain),
    ).status_code


def test_a_key_made_in_the_panel_belongs_to_its_maker_and_dies_with_them(store, client):
    clerk = get_user_model().objects.create_user("clerk@shop.test", "clerk@shop.test", "x", is_staff=True)
    client.force_login(clerk)
    page = client.post("/admin/api-keys/", {"name": "webshop"})
    assert page.status_code == 200
    key = ApiKey.objects.get(name="webshop")
    plain = page.context["plain"]
    assert key.owner == clerk and key.scopes == [] and key.expires_at is None
    api = Client()
    assert api.get("/api/v1/messages", **_client(plain)).status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    clerk.is_active = False  # the clerk leaves the shop
    clerk.save()
    assert api.get("/api/v1/messages", **_client(plain)).status_code == 401
    assert _put_order(api, plain) == 401


def test_scopes_limit_what_a_key_may_call(store, client):
    ingest_key = keys.create("shop sync", scopes=["ingest"])[1]
    read_key = keys.create("dashboard", scopes=["read"])[1]
    full_key = keys.create("admin script")[1]
    # ingest: orders in; no reading the message log, no settings
    assert _put_order(client, ingest_key, "1") == 200
    assert client.get("/api/v1/messages", **_client(ingest_key)).status_code == 403
    patch = client.patch(
        "/api/v1/settings",
        b'{"admin_email": "evil@example.com"}',
        content_type="application/json",
        **_client(ingest_key),
    )
    assert patch.status_code == 403
    # read: the message log, but nothing changes
    assert client.get("/api/v1/messages", **_client(read_key)).status_code == 200
    assert _put_order(client, read_key, "2") == 403
    assert (
        client.post("/api/v1/events", b"{}", content_type="application/json", **_client(read_key)).status_code
        == 403
    )
    # no scopes: everything (the key of `shopmail apikey create --name N`)
    assert client.get("/api/v1/settings", **_client(full_key)).status_code == 200
    assert _put_order(client, full_key, "3") == 200
    with pytest.raises(ValueError, match="unknown scope"):
        keys.create("typo", scopes=["admin"])


def test_an_expired_key_stops_working(store, client):
    key, plain = keys.create("temporary", expires_at=timezone.now() + dt.timedelta(days=1))
    assert client.get("/api/v1/messages", **_client(plain)).status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/v1/messages", **_client(plain)).status_code == 401


def test_the_command_sets_owner_scopes_and_expiry(store, capsys):
    get_user_model().objects.create_user("boss@shop.test", "boss@shop.test", "x", is_staff=True)
    call_command(
        "apikey",
        "create",
        "--name",
        "n",
        "--owner",
        "boss@shop.test",
        "--scope",
        "ingest",
        "--expires-days",
        "30",
    )
    key = ApiKey.objects.get(name="n")
    assert key.owner.username == "boss@shop.test" and key.scopes == ["ingest"]
    assert key.expires_at is not None and key.expires_at > timezone.now() + dt.timedelta(days=29)
    assert keys.check(capsys.readouterr().out.strip()) == key
