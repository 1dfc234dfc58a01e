"""Send one finished e-mail now, straight through the configured transport (not via the outbox).

The one "send now" path: ``shopmail send-test``, the panel's transport test and the template
editor's "send me a test" all build and send here. Nothing is queued, logged as a customer
message, or retried; the caller shows the server's reply.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.utils import timezone

from shopmail.domain import mime
from shopmail.mail import signing
from shopmail.mail.outbox import new_message_id
from shopmail.mail.transports import Envelope, SendResult, make_transport
from shopmail.store.models import StoreSettings


async def send_now(
    store: StoreSettings, to: str, subject: str, text: str, html: str | None = None, notification: str = ""
) -> SendResult:
    """Build one message with ``store``'s settings and send it; returns the transport's result.

    ``store`` is read by the caller, before the event loop (no database connection left open on
    a thread of it). Raises ``ValueError`` for a bad address, ``TransportConfigError``/``OSError``
    for set-up problems.
    """
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
    raw = signing.sign(raw, store)
    transport = make_transport(dict(store.transport), django_settings.DATA_DIR)
    try:
        [result] = await transport.send_many([Envelope("test", store.from_email, (address,), raw)])
    finally:
        await transport.close()
    return result


async def send_test(to: str, store: StoreSettings) -> SendResult:
    """The transport test: a short plain message saying which transport sent it."""
    return await send_now(
        store,
        to,
        subject=f"Test e-mail from {store.company_name}",
        text=(
            f"This is a test e-mail from shopmail for {store.company_name}.\n\n"
            f"Transport: {store.transport.get('kind')}\nSent at: {timezone.now():%Y-%m-%d %H:%M:%S %Z}\n"
        ),
    )
