"""A newsletter as one recipient will get it: subject, text, HTML and the headers that matter."""

from __future__ import annotations

import email
import email.policy
from typing import Any

from shopmail.domain import mime
from shopmail.mail import compose as compose_mod
from shopmail.mail import outbox
from shopmail.mail.models import Message, Payload
from shopmail.newsletter import consent, sending
from shopmail.newsletter.models import Newsletter
from shopmail.store.models import Customer, StoreSettings

SHOWN_HEADERS = ("From", "To", "Subject", "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post")


def render(newsletter: Newsletter, customer: Customer | None, settings: StoreSettings) -> dict[str, Any]:
    """``{"ok": True, subject, text, html, headers, to}`` or ``{"ok": False, "problem": ...}``."""
    if customer is not None:
        person = sending.customer_context(customer)
        link = consent.url(customer.pk, newsletter.pk)
    else:
        person = {"email": "someone@example.com", "first_name": "", "last_name": ""}
        link = consent.url(consent.TEST_CUSTOMER, newsletter.pk)
    language = outbox.language_for(person, settings)
    message = Message(
        key="preview",
        notification="newsletter",
        to_email=person["email"],
        message_id=outbox.new_message_id(settings.from_email),
    )
    payload = Payload(
        language=language,
        context={
            "customer": person,
            "extras": {"newsletter": sending.content(newsletter), "unsubscribe_url": link},
            "headers": consent.headers(link),
        },
    )
    try:
        composed = compose_mod.compose(message, payload, settings)
    except (mime.HeaderError, ValueError) as exc:
        return {"ok": False, "problem": str(exc)}
    except Exception as exc:  # a template that does not render: shown, not raised
        return {"ok": False, "problem": f"{type(exc).__name__}: {exc}"}
    parsed = email.message_from_bytes(composed.raw, policy=email.policy.default)
    headers = [(name, str(parsed[name])) for name in SHOWN_HEADERS if parsed[name] is not None]
    return {
        "ok": True,
        "subject": composed.subject,
        "text": composed.text,
        "html": composed.html,
        "headers": headers,
        "language": language,
        "to": person["email"],
        "size": len(composed.raw),
    }
