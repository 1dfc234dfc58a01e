"""Saving, restoring and previewing templates: shared by the API and the control panel."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from shopmail.mail import compose, rendering, templates
from shopmail.mail.models import Message, Payload, TemplateVersion
from shopmail.mail.notifications import LANGUAGES, NOTIFICATIONS
from shopmail.mail.render.formatting import known_language
from shopmail.store.models import Order, StoreSettings

MAX_PART = 200_000


class TemplateRefused(ValueError):
    def __init__(self, problems: list[dict[str, Any]]):
        super().__init__("; ".join(p["msg"] for p in problems))
        self.problems = problems


def check_key(notification: str, language: str) -> list[dict[str, Any]]:
    errors = []
    if notification not in NOTIFICATIONS:
        errors.append({"loc": ["path", "notification"], "msg": f"unknown notification {notification!r}"})
    if language not in LANGUAGES and not known_language(language):
        errors.append(
            {
                "loc": ["path", "language"],
                "msg": f"language must be a language code such as {', '.join(LANGUAGES)} or fr (ISO 639)",
            }
        )
    return errors


def as_json(notification: str, language: str) -> dict[str, Any]:
    source, version = templates.current(notification, language)
    return {
        "notification": notification,
        "language": language,
        "version": version,
        "is_default": version.startswith("default"),
        "subject": source.subject,
        "text": source.text,
        "html": source.html,
        "variables": list(NOTIFICATIONS[notification].variables),
    }


def save(notification: str, language: str, body: Any, author: str = "") -> TemplateVersion:
    """Validate (compile + render against the sample order) and store a new version, or refuse."""
    errors = []
    if not isinstance(body, dict):
        raise TemplateRefused([{"loc": ["body"], "msg": "must be an object with subject, html and text"}])
    parts: dict[str, str] = {}
    for part in rendering.PARTS:
        value = body.get(part, "")
        if not isinstance(value, str) or len(value) > MAX_PART or "\x00" in value:
            errors.append({"loc": ["body", part], "msg": f"must be text of at most {MAX_PART} characters"})
        else:
            parts[part] = value
    unknown = sorted(set(body) - set(rendering.PARTS))
    errors += [{"loc": ["body", name], "msg": "is not a template part"} for name in unknown]
    if errors:
        raise TemplateRefused(errors)
    source = rendering.TemplateSource(parts.get("subject", ""), parts.get("text", ""), parts.get("html", ""))
    problems = rendering.validate(notification, source, language)
    if problems:
        raise TemplateRefused(
            [
                {
                    "loc": ["body", p.part],
                    "line": p.line,
                    "msg": f"line {p.line}: {p.reason}" if p.line else p.reason,
                }
                for p in problems
            ]
        )
    return store_version(notification, language, source, author)


def store_version(
    notification: str, language: str, source: rendering.TemplateSource, author: str, **simple: Any
) -> TemplateVersion:
    """A checked template as the new live version (the full editor's and the simple editor's
    saves; ``simple`` is what the simple editor keeps beside it)."""
    with transaction.atomic():
        return TemplateVersion.objects.create(
            notification=notification,
            language=language,
            subject=source.subject,
            text=source.text,
            html=source.html,
            created_by=author,
            **simple,
        )


def restore_default(notification: str, language: str, author: str = "") -> None:
    TemplateVersion.objects.create(
        notification=notification, language=language, restored_default=True, created_by=author
    )


def preview(
    notification: str,
    language: str,
    order_id: str | None = None,
    source: rendering.TemplateSource | None = None,
) -> dict[str, Any]:
    """Render against a stored order (as its next e-mail would be) or the sample order."""
    settings = StoreSettings.load()
    if order_id:
        order = Order.objects.filter(external_id=order_id).first()
        if order is None:
            raise LookupError(order_id)
        message = Message(notification=notification, to_email=order.snapshot["customer"]["email"], pk=0)
        payload = Payload(
            language=language,
            context={
                "order_id": order.external_id,
                "order": order.snapshot,
                "changes": [],
                "shipment_id": (order.snapshot.get("shipments") or [{}])[-1].get("id"),
                "custom_message": "",
            },
        )
        rendered, version = compose.render_message(message, payload, settings, source=source)
    else:
        context = rendering.sample_context(notification, language, store=settings.store_context())
        version = "preview"
        if source is None:
            source, version = templates.current(notification, language)
        rendered = rendering.render(notification, language, context, source)
    return {
        "notification": notification,
        "language": language,
        "order": order_id,
        "version": version,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
    }
