"""Shared test configuration: fixtures from tests/fixtures are loaded as plugins."""

from __future__ import annotations

import datetime as dt

import pytest

pytest_plugins = ["fixtures.smtp", "fixtures.delivery", "fixtures.customers"]


@pytest.fixture
def store(db):
    """Store settings as a shop that went live long ago, with a staff address."""
    from shopmail.store.models import StoreSettings

    settings = StoreSettings.load()
    settings.notify_since = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    settings.admin_email = "staff@shop.test"
    settings.from_email = "shop@shop.test"
    settings.company_name = "Test Shop"
    settings.save()
    return settings


class Api:
    """A JSON client for /api/v1 with a real API key."""

    def __init__(self, client, key: str):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def _call(self, method: str, path: str, body=None, **extra):
        import orjson

        kwargs = {**self.headers, **extra}
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
            kwargs.update(data=data, content_type="application/json")
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, **extra):
        return self._call("get", path, **extra)

    def put(self, path, body, **extra):
        return self._call("put", path, body, **extra)

    def post(self, path, body=None, **extra):
        return self._call("post", path, body if body is not None else {}, **extra)

    def patch(self, path, body, **extra):
        return self._call("patch", path, body, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, **extra)


@pytest.fixture
def api(store, client):
    from shopmail.api import keys

    _, plain = keys.create("tests")
    return Api(client, plain)
