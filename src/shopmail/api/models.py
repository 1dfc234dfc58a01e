"""API keys: shown once, stored as an Argon2 hash, looked up by a public prefix."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """An API key. ``owner``: the staff user who made it (None for keys made on the server with
    ``shopmail apikey create``); it stops working when the owner is deactivated or deleted.
    ``scopes``: empty for every call, else any of ``SCOPES`` (``api.keys.allows``). A key past
    ``expires_at`` stops working."""

    SCOPES = ("ingest", "read")

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    scopes = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key`` (SPEC section 2), kept per API key
    for 24 hours. ``status`` is None while that first call is still running."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the method, path, query and body
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=200, blank=True, default="")
    body = models.BinaryField(default=b"")
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("api_key", "key"), name="api_idempotency_key_unique")]
