"""What the shop connectors keep: their settings and pull cursor, the webhooks already taken
(each delivery id once) and the count of webhooks by outcome for ``/metrics``."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

PLATFORMS = ("shopify", "woocommerce")


class Connector(models.Model):
    """One shop platform's connection (SPEC section 8 ``connectors.<platform>``) and pull state."""

    platform = models.CharField(max_length=20, unique=True)
    settings = models.JSONField(default=dict, blank=True)  # secrets sealed at rest
    cursor = models.DateTimeField(null=True, blank=True)  # orders changed after this are pulled next
    pull_started_at = models.DateTimeField(null=True, blank=True)  # a pull under way (its claim)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_summary = models.JSONField(default=dict, blank=True)

    @classmethod
    def load(cls, platform: str) -> Connector:
        connector, _ = cls.objects.get_or_create(platform=platform)
        return connector

    def setting(self, name: str) -> Any:
        return (self.settings or {}).get(name)

    def __str__(self) -> str:
        return self.platform


class WebhookDelivery(models.Model):
    """A webhook taken in: a repeat of its delivery id is answered without doing anything again."""

    platform = models.CharField(max_length=20)
    delivery_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=100, blank=True, default="")
    outcome = models.CharField(max_length=20, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "delivery_id"], name="connectors_delivery_once")
        ]


class WebhookCount(models.Model):
    """Webhooks in, by platform and outcome (``accepted``, ``duplicate``, ``ignored``, ``ping``,
    ``rejected`` (422), ``unauthorized`` (missing or wrong signature))."""

    platform = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "outcome"], name="connectors_count_once")]
