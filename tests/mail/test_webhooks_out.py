"""Webhooks out (SPEC section 8) against a real local HTTP receiver that verifies every signature
with the ``standardwebhooks`` package, answers 500 once, and counts the deliveries."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from factories import order
from shopmail.mail.webhooks import deliver
from shopmail.mail.webhooks.models import Delivery, Endpoint
from shopmail.store.models import FeedEvent

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


class Receiver:
    """A shop's webhook endpoint: verifies, answers 500 to the first request, 204 after."""

    def __init__(self, secret: str):
        self.verifier = Webhook(secret)
        self.requests: list[dict] = []
        self.accepted: Counter[str] = Counter()
        self.failures_left = 1
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = receiver.verifier.verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    payload, verified = None, False
                receiver.requests.append(
                    {"id": headers.get("webhook-id"), "verified": verified, "payload": payload}
                )
                if not verified:
                    self.send_response(401)
                elif receiver.failures_left:
                    receiver.failures_left -= 1
                    self.send_response(500)
                else:
                    receiver.accepted[headers["webhook-id"]] += 1
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shopmail"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver(SECRET)
    yield server
    server.close()


def test_settings_take_the_list_and_never_show_the_secret(api, receiver):
    response = api.patch(
        "/settings", {"webhooks": [{"url": receiver.url, "secret": SECRET, "events": ["shipment.created"]}]}
    )
    assert response.status_code == 200, response.content
    [shown] = response.json()["webhooks"]
    assert (
        shown["url"] == receiver.url
        and shown["secret_set"] is True
        and shown["events"] == ["shipment.created"]
    )
    assert SECRET not in api.get("/settings").content.decode()
    assert Endpoint.objects.get().secret.startswith("sealed:v1:")
    # the same URL without a secret keeps the stored one
    kept = api.patch("/settings", {"webhooks": [{"url": receiver.url}]})
    assert kept.status_code == 200 and kept.json()["webhooks"][0]["secret_set"] is True


@pytest.mark.parametrize(
    ("entry", "loc"),
    [
        ({"url": "http://shop.example.com/hook", "secret": SECRET}, ["body", "webhooks", 0, "url"]),
        (
            {"url": "https://shop.example.com/hook", "secret": "plain-secret"},
            ["body", "webhooks", 0, "secret"],
        ),
        ({"url": "https://shop.example.com/hook"}, ["body", "webhooks", 0, "secret"]),
        (
            {"url": "https://shop.example.com/hook", "secret": SECRET, "events": ["order.exploded"]},
            ["body", "webhooks", 0, "events", 0],
        ),
    ],
)
def test_bad_webhook_settings_are_refused_and_change_nothing(api, entry, loc):
    response = api.patch("/settings", {"webhooks": [entry], "company_name": "Changed"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert not Endpoint.objects.exists()
    assert api.get("/settings").json()["company_name"] != "Changed"


def test_each_event_arrives_once_signed_and_a_500_is_retried(api, receiver):
    assert api.patch("/settings", {"webhooks": [{"url": receiver.url, "secret": SECRET}]}).status_code == 200
    assert api.put("/orders/900", order("900", status="processing")).status_code == 200
    shipped = api.post(
        "/orders/900/actions", {"action": "ship", "shipment": {"carrier": "Posten", "tracking_number": "PN9"}}
    )
    assert shipped.status_code == 200
    events = list(FeedEvent.objects.order_by("pk").values_list("type", flat=True))
    assert events == ["order.changed_by_staff", "shipment.created"]

    first = deliver.run()
    assert first == {"new": 2, "attempts": 2}
    assert Delivery.objects.filter(status=Delivery.PENDING).count() == 1  # the one answered 500
    assert deliver.run() == {"new": 0, "attempts": 0}  # not due yet: back-off
    later = timezone.now() + dt.timedelta(minutes=1)
    assert deliver.run(later) == {"new": 0, "attempts": 1}
    assert deliver.run(later + dt.timedelta(days=1)) == {"new": 0, "attempts": 0}

    assert all(request["verified"] for request in receiver.requests)
    assert len(receiver.requests) == 3
    ids = [request["id"] for request in receiver.requests]
    assert ids[0] == ids[2]  # the retry reuses its webhook-id
    assert sorted(receiver.accepted.values()) == [1, 1]  # exactly one delivery per event
    types = {request["payload"]["type"] for request in receiver.requests}
    assert types == {"order.changed_by_staff", "shipment.created"}
    shipment = next(r["payload"] for r in receiver.requests if r["payload"]["type"] == "shipment.created")
    assert shipment["data"]["shipment"]["tracking_number"] == "PN9"
    retried = Delivery.objects.get(webhook_id=ids[0])
    assert retried.status == Delivery.DELIVERED and retried.attempts == 2
    assert [entry["status"] for entry in retried.log] == [500, 204]


def test_only_subscribed_events_and_none_from_before(api, receiver):
    api.put("/orders/901", order("901", status="processing"))
    api.post("/orders/901/actions", {"action": "confirm"})  # refused (already confirmed): no event
    api.post("/orders/901/actions", {"action": "expected_date", "date": "2026-12-24"})  # before the hook
    api.patch(
        "/settings", {"webhooks": [{"url": receiver.url, "secret": SECRET, "events": ["shipment.created"]}]}
    )
    api.post("/orders/901/actions", {"action": "ship", "shipment": {}})
    assert deliver.run()["new"] == 1
    receiver.failures_left = 0
    deliver.run(timezone.now() + dt.timedelta(minutes=1))
    assert [r["payload"]["type"] for r in receiver.requests if r["payload"]] == ["shipment.created"] * len(
        receiver.requests
    )
    assert sum(receiver.accepted.values()) == 1


def test_an_unreachable_url_gives_up_after_three_days(store, receiver):
    from shopmail.mail.webhooks import config

    config.apply([config.WebhookIn(url="http://127.0.0.1:9/nothing-listens", secret=SECRET)])
    from shopmail.store import feed

    feed.record("customer.updated", {"customer": "c1"})
    now = timezone.now()
    deliver.run(now)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.PENDING and delivery.last_error
    for hours in range(0, 24 * 4, 6):
        deliver.run(now + dt.timedelta(hours=hours, minutes=1))
    delivery.refresh_from_db()
    assert delivery.status == Delivery.FAILED
    assert delivery.last_at - delivery.created_at <= dt.timedelta(days=3)
    assert 5 < delivery.attempts < 30
    assert orjson.loads(delivery.body)["type"] == "customer.updated"


def test_panel_shows_each_delivery_with_its_answer_and_sends_again(client, store, receiver):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(staff)
    bad = client.post("/admin/webhooks/add/", {"url": receiver.url, "secret": "not-a-secret"})
    assert bad.status_code == 422 and not Endpoint.objects.exists()
    saved = client.post(
        "/admin/webhooks/add/", {"url": receiver.url, "secret": SECRET, "events": ["customer.updated"]}
    )
    assert saved.status_code == 302
    from shopmail.store import feed

    feed.record("customer.updated", {"customer": "c7"})
    deliver.run()  # answered 500
    page = client.get("/admin/webhooks/").content.decode()
    assert "HTTP 500" in page and "customer.updated" in page and SECRET not in page
    delivery = Delivery.objects.get()
    again = client.post(f"/admin/webhooks/deliveries/{delivery.pk}/send-again/", follow=True)
    assert "answered 204" in again.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.DELIVERED and delivery.attempts == 2
    assert sum(receiver.accepted.values()) == 1
    deliver.run(timezone.now() + dt.timedelta(hours=1))
    assert sum(receiver.accepted.values()) == 1  # a delivered one is never sent again by the job


def test_the_worker_runs_the_job_and_metrics_count_deliveries(api, receiver):
    from shopmail.core import periodic

    assert "webhooks.deliver" in [name for name, _ in periodic._jobs]
    api.patch("/settings", {"webhooks": [{"url": receiver.url, "secret": SECRET}]})
    from shopmail.store import feed

    feed.record("customer.updated", {"customer": "c1"})
    dict(periodic._jobs)["webhooks.deliver"]()  # what the worker's periodic thread runs
    assert len(receiver.requests) == 1
    text = api.client.get("/metrics", **api.headers).content.decode()
    assert 'shopmail_webhooks_out{status="pending"} 1' in text  # answered 500 once: retried later


def test_panel_makes_a_secret_for_a_new_url_and_shows_it_once(client, store, receiver):
    import re

    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(staff)
    page = client.post("/admin/webhooks/add/", {"url": receiver.url}, follow=True).content.decode()
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", page).group(0)
    assert secret not in client.get("/admin/webhooks/").content.decode()
    receiver.verifier = Webhook(secret)
    receiver.failures_left = 0
    from shopmail.store import feed

    feed.record("customer.updated", {"customer": "c9"})
    deliver.run()
    assert [r["verified"] for r in receiver.requests] == [True]
