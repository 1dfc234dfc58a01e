"""An uploaded logo (branding, SPEC 4): checked, stored, and served to mail clients and browsers.

Only PNG, JPEG and GIF, recognised by their first bytes (never SVG: it can carry script), at most
``MAX_BYTES``. Saving one points the store's ``branding.logo_url`` at its public address, which
names the content's digest, so a new logo is a new address and caches never show an old one.
"""

from __future__ import annotations

import hashlib

from django.conf import settings as django_settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from shopmail.panel.models import BrandLogo

MAX_BYTES = 256 * 1024
KINDS = (  # first bytes, content type, extension
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


class LogoRefused(ValueError):
    pass


def kind_of(content: bytes) -> tuple[str, str]:
    for magic, content_type, extension in KINDS:
        if content.startswith(magic):
            return content_type, extension
    raise LogoRefused("the logo must be a PNG, JPEG or GIF image")


def store(content: bytes) -> str:
    """Keep ``content`` as the logo; its public address."""
    if not content:
        raise LogoRefused("the file is empty")
    if len(content) > MAX_BYTES:
        raise LogoRefused(f"the logo must be at most {MAX_BYTES // 1024} KB")
    content_type, extension = kind_of(content)
    digest = hashlib.sha256(content).hexdigest()
    BrandLogo.objects.update_or_create(
        pk=1, defaults={"content": content, "content_type": content_type, "digest": digest}
    )
    return f"{django_settings.BASE_URL}/branding/logo/{digest[:20]}.{extension}"


@require_GET
def logo(request: HttpRequest, name: str) -> HttpResponse:
    found = BrandLogo.objects.filter(pk=1).first()
    if found is None or name.partition(".")[0] != found.digest[:20]:
        raise Http404("no such logo")
    response = HttpResponse(bytes(found.content), content_type=found.content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"  # the address names the content
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
