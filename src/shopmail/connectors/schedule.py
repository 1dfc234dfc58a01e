"""Hooks the connectors app registers at start-up: its ``/metrics`` lines, and the scheduled pull
the delivery worker runs (``connectors.<platform>.pull_every_minutes``, SPEC section 8)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

log = logging.getLogger(__name__)
KEEP_DELIVERIES = dt.timedelta(days=7)  # Shopify retries a webhook for up to 48 hours


def scheduled_pulls(now: dt.datetime | None = None) -> list[str]:
    """Pull every connector whose ``pull_every_minutes`` have passed since its last pull; the
    platforms pulled. A failed pull is logged and kept as the connector's ``last_error``."""
    from shopmail.connectors import pull
    from shopmail.connectors.client import PullError
    from shopmail.connectors.models import Connector

    now = now or timezone.now()
    ran = []
    for connector in Connector.objects.order_by("platform"):
        every = connector.setting("pull_every_minutes")
        if not isinstance(every, int) or every <= 0:
            continue
        if connector.last_pull_at and now - connector.last_pull_at < dt.timedelta(minutes=every):
            continue
        try:
            summary = pull.pull(connector.platform)
        except PullError as exc:
            log.warning("scheduled pull from %s stopped: %s", connector.platform, exc)
            continue
        ran.append(connector.platform)
        log.info("scheduled pull from %s: %s", connector.platform, summary.as_json())
    return ran


def forget_old_deliveries(now: dt.datetime | None = None) -> int:
    """Drop the record of webhooks taken more than a week ago (no shop repeats one that late)."""
    from shopmail.connectors.models import WebhookDelivery

    cutoff = (now or timezone.now()) - KEEP_DELIVERIES
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def register() -> None:
    from shopmail.connectors import inbound
    from shopmail.core import periodic
    from shopmail.mail import metrics

    metrics.register(inbound.metrics)
    periodic.register("connectors.scheduled_pulls", scheduled_pulls)
    periodic.register("connectors.forget_old_deliveries", forget_old_deliveries)
