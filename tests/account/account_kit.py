"""Helpers of the My page and support tests (a module name of its own: test modules are not
packages, and every test directory has a conftest)."""

from __future__ import annotations

PASSWORD = "Blue-harbour-lantern-42"


def make_account(customer, password: str = PASSWORD):
    """A My page account with ``password`` for ``customer``."""
    from shopmail.account import auth
    from shopmail.account.models import CustomerAccount

    account, _ = CustomerAccount.objects.get_or_create(customer=customer)
    auth.set_password(account, password)
    return account


def sign_in(client, email: str, password: str = PASSWORD):
    response = client.post("/account/login/", {"email": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def rendered(message):
    """The e-mail as the worker would send it (subject, text, html, raw), without SMTP."""
    from shopmail.mail.compose import compose
    from shopmail.mail.models import Message
    from shopmail.store.models import StoreSettings

    message = Message.objects.select_related("payload").get(pk=message.pk)
    return compose(message, message.payload, StoreSettings.load())


def link_in(text: str, marker: str) -> str:
    """The first URL in ``text`` containing ``marker``, as a path (what a browser would open)."""
    import re
    from urllib.parse import urlsplit

    for url in re.findall(r"https?://\S+", text):
        if marker in url:
            return urlsplit(url.rstrip(".,)")).path
    raise AssertionError(f"no link with {marker!r} in:\n{text}")
