"""The panel's own data: the uploaded logo (branding, SPEC 4)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BrandLogo(models.Model):
    """The one uploaded logo, served at /branding/logo/<digest>.<ext> for every e-mail and page
    (kept in the database, so every web process and host serves the same one)."""

    content = models.BinaryField()
    content_type = models.CharField(max_length=40)
    digest = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
