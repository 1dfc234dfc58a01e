"""The ``webhooks`` setting (SPEC section 8): ``[{"url", "secret", "events"}]``, the secret
write-only (sealed at rest with ``core.secretbox``; GET shows ``secret_set``)."""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field
from standardwebhooks.webhooks import Webhook

from shopmail.core import secretbox
from shopmail.mail.webhooks.models import Endpoint
from shopmail.store.feed import FEED_TYPES
from shopmail.store.models import FeedEvent, StoreSettings
from shopmail.store.store_settings import Problem, Section

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    secret: Annotated[str, Field(max_length=500)] | None = None  # whsec_<base64>; kept when left out
    events: list[str] | None = None  # feed event types; empty or left out: every event


def url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c in url for c in " \r\n"):
        return "must be an https:// address"
    if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
        return "must use https (plain http only to this machine)"
    return None


def secret_problem(secret: str) -> str | None:
    if not secret.startswith("whsec_"):
        return "must be a Standard Webhooks secret: whsec_ followed by base64 (24 to 64 random bytes)"
    try:
        Webhook(secret)
    except (binascii.Error, ValueError, Exception) as exc:  # the library raises its own errors too
        return f"is not whsec_ followed by base64 ({type(exc).__name__})"
    return None


def problems(entries: Sequence[WebhookIn], loc: Sequence[Any] = ("body", "webhooks")) -> list[dict[str, Any]]:
    """Every bad field of a new ``webhooks`` list (nothing is stored when there is one)."""
    errors: list[dict[str, Any]] = []
    known = set(Endpoint.objects.values_list("url", flat=True))
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = [*loc, index]
        problem = url_problem(entry.url)
        if problem:
            errors.append({"loc": [*where, "url"], "msg": problem})
        if entry.url in seen:
            errors.append({"loc": [*where, "url"], "msg": "appears twice"})
        seen.add(entry.url)
        if entry.secret is None or entry.secret == "":
            if entry.url not in known:
                errors.append({"loc": [*where, "secret"], "msg": "is required for a new URL"})
        else:
            problem = secret_problem(entry.secret)
            if problem:
                errors.append({"loc": [*where, "secret"], "msg": problem})
        for position, event in enumerate(entry.events or ()):
            if event not in FEED_TYPES:
                errors.append(
                    {
                        "loc": [*where, "events", position],
                        "msg": f"is not a feed event ({', '.join(FEED_TYPES)})",
                    }
                )
    return errors


def apply(entries: Sequence[WebhookIn]) -> None:
    """Replace the list (call after ``problems`` found none). A URL that stays keeps its secret
    unless a new one is given, and its deliveries; a new URL gets events from now on."""
    with transaction.atomic():
        existing = {endpoint.url: endpoint for endpoint in Endpoint.objects.select_for_update()}
        latest = FeedEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for entry in entries:
            endpoint = existing.pop(entry.url, None) or Endpoint(url=entry.url, cursor=latest)
            if entry.secret:
                endpoint.secret = secretbox.seal(entry.secret)
            endpoint.events = list(dict.fromkeys(entry.events or ()))
            endpoint.save()
        Endpoint.objects.filter(pk__in=[endpoint.pk for endpoint in existing.values()]).delete()


def all_public() -> list[dict[str, Any]]:
    return [
        {"id": e.pk, "url": e.url, "events": list(e.events), "secret_set": bool(e.secret)}
        for e in Endpoint.objects.order_by("pk")
    ]


class WebhooksPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhooks: list[WebhookIn] | None = None  # SPEC section 8; secrets write-only


def _problems(settings: StoreSettings, part: WebhooksPatch) -> list[Problem]:
    return problems(part.webhooks or ())


def _apply(settings: StoreSettings, part: WebhooksPatch) -> None:
    if part.webhooks is not None:
        apply(part.webhooks)  # kept in the webhooks' own table, secrets sealed


# The ``webhooks`` section of the store settings, registered from ``WebhooksConfig.ready()``.
SECTION = Section("webhooks", WebhooksPatch, lambda settings: {"webhooks": all_public()}, _apply, _problems)
