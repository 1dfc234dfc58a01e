"""A test e-mail sent straight through the configured transport (not via the outbox)."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.utils import timezone

from shopmail.domain import mime
from shopmail.mail.outbox import new_message_id
from shopmail.mail.transports import Envelope, SendResult, make_transport
from shopmail.store.models import StoreSettings


async def send_test(to: str, store: StoreSettings) -> SendResult:
    """Build and send one test message with ``store``'s settings (read by the caller, before
    the event loop: no database connection left open on a thread of it); returns the
    transport's result (the server's reply)."""
    address = mime.normalize_email(to)
    raw = mime.build_message(
        message_id=new_message_id(store.from_email),
        from_=mime.Address(store.from_email, store.from_name),
        to=[mime.Address(address)],
        subject=f"Test e-mail from {store.company_name}",
        text=(
            f"This is a test e-mail from shopmail for {store.company_name}.\n\n"
            f"Transport: {store.transport.get('kind')}\nSent at: {timezone.now():%Y-%m-%d %H:%M:%S %Z}\n"
        ),
        html=None,
        date=timezone.now(),
    )
    transport = make_transport(dict(store.transport), django_settings.DATA_DIR)
    try:
        [result] = await transport.send_many([Envelope("test", store.from_email, (address,), raw)])
    finally:
        await transport.close()
    return result
