"""What a message says, for the message log of the panel and the API.

A message's stored bytes once it is composed; before that (the worker composes order mail,
ADR 0012, and bulk mail at send time) what would be sent now, rendered on view and not stored.
One-time link tokens (reset, invitation) are redacted: the stored bytes the worker sends keep
them, the log never shows them (issue 19).
"""

from __future__ import annotations

import email
import email.policy
from typing import Any

from shopmail.core.redact import redact_link_tokens
from shopmail.mail import compose, retention
from shopmail.mail.models import Message, Payload
from shopmail.store.models import StoreSettings


def _unredacted(message: Message, payload: Payload) -> dict[str, Any]:
    if payload.context == retention.PRUNED_CONTEXT:  # its body was dropped; the log keeps the subject
        return {"composed": True, "pruned": True, "subject": payload.subject, "text": "", "html": "",
                "headers": [], "version": payload.template_version}  # fmt: skip
    if payload.raw:
        parsed = email.message_from_bytes(bytes(payload.raw), policy=email.policy.default)
        return {
            "composed": True,
            "subject": payload.subject,
            "text": payload.text,
            "html": payload.html,
            "headers": [(name, str(value)) for name, value in parsed.items()],
            "size": len(bytes(payload.raw)),
            "version": payload.template_version,
        }
    try:
        settings = StoreSettings.load()
        compose.complete([(message, payload)], settings)  # a newsletter's personal parts
        rendered, version = compose.render_message(message, payload, settings)
    except Exception as exc:  # a held message: show why instead of the mail
        return {"composed": False, "error": f"{type(exc).__name__}: {exc}", "headers": []}
    return {
        "composed": False,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "headers": [],
        "version": version,
    }


def content(message: Message, payload: Payload) -> dict[str, Any]:
    """``composed`` (bool), ``subject``, ``text``, ``html``, ``headers`` (name, value pairs; only
    once composed), ``version`` (the template version), ``size`` (bytes, once composed) or
    ``error`` (why it cannot be rendered); ``pruned`` when retention dropped the body."""
    shown = _unredacted(message, payload)
    for name in ("subject", "text", "html"):
        if isinstance(shown.get(name), str):
            shown[name] = redact_link_tokens(shown[name])
    shown["headers"] = [(name, redact_link_tokens(value)) for name, value in shown["headers"]]
    return shown
