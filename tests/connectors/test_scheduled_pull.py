"""The scheduled pull the worker runs (``pull_every_minutes``) and the worker's periodic hook."""

from __future__ import annotations

import datetime as dt
import threading

from fakeshop import WOO_KEY, WOO_SECRET, FakeShop
from payloads import load

from shopmail.connectors import config, schedule
from shopmail.connectors.models import Connector
from shopmail.core import periodic
from shopmail.store.models import Order


def test_due_connectors_are_pulled_on_their_schedule(store):
    store.notify_since = dt.datetime(2017, 1, 1, tzinfo=dt.UTC)  # the first pull starts there
    store.save()
    with FakeShop(load("woocommerce", "orders.json"), [], {}) as shop:
        config.configure("woocommerce", url=shop.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
        assert schedule.scheduled_pulls() == []  # no pull_every_minutes: never on a schedule
        config.configure("woocommerce", pull_every_minutes=15)
        assert schedule.scheduled_pulls() == ["woocommerce"]
        assert Order.objects.count() == 2
        assert schedule.scheduled_pulls() == []  # not due again yet
        later = Connector.load("woocommerce").last_pull_at + dt.timedelta(minutes=16)
        requests = len(shop.requests)
        assert schedule.scheduled_pulls(now=later) == ["woocommerce"]
        assert len(shop.requests) > requests


def test_a_failing_scheduled_pull_is_kept_as_the_last_error(store):
    with FakeShop([], [], {}) as shop:
        config.configure(
            "woocommerce", url=shop.url, consumer_key="ck_wrong", consumer_secret="x", pull_every_minutes=5
        )
        assert schedule.scheduled_pulls() == []
    assert "Consumer key is invalid." in Connector.load("woocommerce").last_error


def test_periodic_tick_runs_registered_jobs_on_a_thread(monkeypatch):
    assert "connectors.scheduled_pulls" in [name for name, _ in periodic._jobs]  # AppConfig.ready()
    ran = threading.Event()
    monkeypatch.setattr(periodic, "_jobs", [("test", ran.set)])
    monkeypatch.setattr(periodic, "_last", 0.0)
    monkeypatch.setattr(periodic, "run_all", lambda: [job() for _, job in periodic._jobs])
    assert periodic.tick(now=1000.0) is True
    assert ran.wait(5)
    assert periodic.tick(now=1000.0 + periodic.EVERY / 2) is False  # not again before EVERY


def test_webhook_records_older_than_a_week_are_forgotten(store):
    from django.utils import timezone

    from shopmail.connectors.models import WebhookDelivery

    now = timezone.now()
    for key, days in (("old", 8), ("new", 2)):
        received = now - dt.timedelta(days=days)
        WebhookDelivery.objects.create(platform="shopify", delivery_id=key, received_at=received)
    assert schedule.forget_old_deliveries(now) == 1
    assert list(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["new"]
