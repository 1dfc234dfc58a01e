"""Send one finished e-mail straight through the configured transport (not via the outbox).

For "send me a test" in the template editor: the member of staff gets the mail at once and
sees the server's reply; nothing is queued, logged as a customer message, or retried.
"""

from __future__ import annotations

import asyncio

from django.conf import settings as django_settings
from django.utils import timezone

from shopmail.domain import mime
from shopmail.mail.outbox import new_message_id
from shopmail.mail.transports import Envelope, SendResult, make_transport
from shopmail.store.models import StoreSettings


def server_reply(code: int | None, reply: str) -> str:
    """The server's answer as one line of text, its code once."""
    reply = (reply or "").strip()
    if code and not reply.startswith(str(code)):
        reply = f"{code} {reply}".strip()
    return reply or "(no reply)"


async def _send(store: StoreSettings, address: str, raw: bytes) -> SendResult:
    transport = make_transport(dict(store.transport), django_settings.DATA_DIR)
    try:
        [result] = await transport.send_many([Envelope("panel-test", store.from_email, (address,), raw)])
    finally:
        await transport.close()
    return result


def send_now(to: str, subject: str, text: str, html: str, notification: str = "") -> SendResult:
    """Build and send; raises ``TransportConfigError``/``ValueError``/``OSError`` on set-up problems."""
    store = StoreSettings.load()
    address = mime.normalize_email(to)
    raw = mime.build_message(
        message_id=new_message_id(store.from_email),
        from_=mime.Address(store.from_email, store.from_name),
        to=[mime.Address(address)],
        subject=subject,
        text=text,
        html=html or None,
        date=timezone.now(),
        reply_to=mime.Address(store.reply_to) if store.reply_to else None,
        extra_headers=[("X-Shopmail-Notification", notification)] if notification else (),
    )
    return asyncio.run(_send(store, address, raw))
