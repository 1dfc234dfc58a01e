"""The panel's own data: the uploaded logo (branding, SPEC 4), each staff user's panel language."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class BrandLogo(models.Model):
    """The one uploaded logo, served at /branding/logo/<digest>.<ext> for every e-mail and page
    (kept in the database, so every web process and host serves the same one)."""

    content = models.BinaryField()
    content_type = models.CharField(max_length=40)
    digest = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)


class PanelPreference(models.Model):
    """A staff user's own choices for the panel: the language it speaks (``panel/language.py``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_preference"
    )
    language = models.CharField(max_length=8)
