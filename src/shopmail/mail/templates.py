"""Where a template comes from: the newest saved override, else the packaged default."""

from __future__ import annotations

from shopmail.mail import rendering
from shopmail.mail.models import TemplateVersion


def current(notification: str, language: str) -> tuple[rendering.TemplateSource, str]:
    """The live source for a notification and language, and a version label for the message log."""
    version = TemplateVersion.objects.filter(notification=notification, language=language).first()
    if version is None or version.restored_default:
        return rendering.default_source(notification, language), f"default:{language}"
    return rendering.TemplateSource(version.subject, version.text, version.html), f"v{version.pk}"
