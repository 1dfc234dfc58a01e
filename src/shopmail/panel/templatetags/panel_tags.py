"""Small template helpers of the control panel (all output is escaped with ``format_html``)."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import pgettext_lazy

from shopmail.panel.names import notification_name

register = template.Library()

STATUS_TONE = {
    "sent": "ok",
    "queued": "info",
    "sending": "info",
    "deferred": "warn",
    "held": "warn",
    "failed": "bad",
    "cancelled": "muted",
}


@register.simple_tag(takes_context=True)
def nav_item(context: template.Context, href: str, label: str, exact: bool = False) -> SafeString:
    """A navigation link, marked ``aria-current="page"`` on its own section."""
    request: HttpRequest | None = context.get("request")
    path = request.path if request is not None else ""
    current = path == href if exact else path.startswith(href)
    if current:
        return format_html('<li><a href="{}" aria-current="page">{}</a></li>', href, label)
    return format_html('<li><a href="{}">{}</a></li>', href, label)


# a message's status in words, in the panel's language (the value itself stays in links and filters)
STATUS_WORDS = {
    "queued": pgettext_lazy("message status", "queued"),
    "sending": pgettext_lazy("message status", "sending"),
    "sent": pgettext_lazy("message status", "sent"),
    "deferred": pgettext_lazy("message status", "deferred"),
    "held": pgettext_lazy("message status", "held"),
    "failed": pgettext_lazy("message status", "failed"),
    "cancelled": pgettext_lazy("message status", "cancelled"),
    "bounced": pgettext_lazy("message status", "bounced"),
}


# the state of a worker, a webhook delivery, a newsletter, a return or a conversation, in words
STATE_WORDS = {
    "running": pgettext_lazy("state", "running"),
    "stopped": pgettext_lazy("state", "stopped"),
    "silent": pgettext_lazy("state", "silent"),
    "pending": pgettext_lazy("state", "pending"),
    "delivered": pgettext_lazy("state", "delivered"),
    "failed": pgettext_lazy("state", "failed"),
    "draft": pgettext_lazy("state", "draft"),
    "scheduled": pgettext_lazy("state", "scheduled"),
    "queued": pgettext_lazy("state", "queued"),
    "delivering": pgettext_lazy("state", "delivering"),
    "sending": pgettext_lazy("state", "sending"),
    "sent": pgettext_lazy("state", "sent"),
    "deferred": pgettext_lazy("state", "deferred"),
    "requested": pgettext_lazy("state", "requested"),
    "approved": pgettext_lazy("state", "approved"),
    "denied": pgettext_lazy("state", "denied"),
    "open": pgettext_lazy("state", "open"),
    "closed": pgettext_lazy("state", "closed"),
}


@register.filter
def state_word(state: str) -> str:
    """``{{ d.status|state_word }}``: a known state in the panel's language, anything else as is."""
    return str(STATE_WORDS.get(str(state), state))


@register.filter
def status_badge(status: str) -> SafeString:
    tone = STATUS_TONE.get(str(status), "muted")
    return format_html('<span class="badge badge-{}">{}</span>', tone, STATUS_WORDS.get(str(status), status))


@register.filter
def pretty(value: Any) -> str:
    """A JSON value as readable text (escaped by the template like any other string)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@register.filter
def get(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def notification(key: str) -> str:
    """A notification key in words, in the panel's language: ``{{ m.notification|notification }}``."""
    return notification_name(key)


@register.filter
def notification_key(key: str) -> SafeString:
    """The name in words with the key below it, small (for those who look the key up)."""
    return format_html('{} <span class="muted key">{}</span>', notification_name(key), key)


@register.simple_tag
def store_date_input(input_id: str, name: str) -> SafeString:
    """A date input in the store's format (panel/dates.py) instead of the browser's locale."""
    from shopmail.panel.dates import input_attrs, store_format

    attrs = input_attrs(store_format()[1])
    return format_html(
        '<input id="{}" name="{}" type="text" placeholder="{}" inputmode="{}" autocomplete="{}"'
        ' pattern="{}" size="{}" class="{}">',
        input_id,
        name,
        *(attrs[key] for key in ("placeholder", "inputmode", "autocomplete", "pattern", "size", "class")),
    )
