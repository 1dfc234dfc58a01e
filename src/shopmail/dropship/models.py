"""A drop-shipper login: a Django user who is never staff, and the supplier names it ships for."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DropShipper(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, unique=True)
    suppliers = models.JSONField(default=list)  # the order lines' ``supplier`` names it ships
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dropshipper"
    )
    created_at = models.DateTimeField(default=timezone.now)
    invited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
