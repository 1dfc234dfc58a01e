"""The template editor's "send me a test": one finished e-mail sent now (``mail.testmail``)."""

from __future__ import annotations

import asyncio

from shopmail.mail import testmail
from shopmail.mail.transports import SendResult
from shopmail.store.models import StoreSettings


def server_reply(code: int | None, reply: str) -> str:
    """The server's answer as one line of text, its code once."""
    reply = (reply or "").strip()
    if code and not reply.startswith(str(code)):
        reply = f"{code} {reply}".strip()
    return reply or "(no reply)"


def send_now(to: str, subject: str, text: str, html: str, notification: str = "") -> SendResult:
    """Build and send; raises ``TransportConfigError``/``ValueError``/``OSError`` on set-up problems."""
    store = StoreSettings.load()
    return asyncio.run(testmail.send_now(store, to, subject, text, html, notification))
