"""Subscribed URLs and the deliveries of feed events to them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Endpoint(models.Model):
    """One entry of the ``webhooks`` setting: a URL, its ``whsec_`` secret (sealed) and events."""

    url = models.URLField(max_length=2000, unique=True)
    secret = models.TextField()  # sealed with core.secretbox; never shown
    events = models.JSONField(default=list)  # feed event types; empty: every one
    cursor = models.BigIntegerField(default=0)  # the last feed event fanned out to it
    created_at = models.DateTimeField(default=timezone.now)

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One feed event to one URL; every attempt reuses its ``webhook_id`` and body."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("store.FeedEvent", on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=40)
    body = models.TextField()  # the exact JSON sent, the same on every attempt
    status = models.CharField(max_length=10, default=PENDING, db_index=True)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_at = models.DateTimeField(null=True, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    log = models.JSONField(default=list)  # [{"at", "status", "error"}] per attempt, newest last

    class Meta:
        constraints = [models.UniqueConstraint(fields=("endpoint", "event"), name="webhooks_one_per_event")]
        indexes = [models.Index(fields=("status", "next_at"), name="webhooks_due_idx")]
