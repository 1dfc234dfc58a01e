"""DKIM-sign finished messages with the store's key (SPEC section 9), once, at compose time.

The signature goes on the bytes that are stored and sent, so a retry sends the very same signed
message. The signer (the parsed key) is cached per key; changing the settings makes a new one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shopmail.core import secretbox
from shopmail.domain import dkim
from shopmail.store.models import StoreSettings


@lru_cache(maxsize=8)
def _signer(domain: str, selector: str, stored_key: str) -> dkim.Signer:
    return dkim.Signer.from_pem(domain, selector, secretbox.unseal(stored_key))


def signer_for(config: dict[str, Any]) -> dkim.Signer | None:
    """The signer for a ``dkim`` setting, ``None`` when DKIM is not set up.

    Raises ``dkim.DkimError`` (or ``secretbox.SecretUnreadable``) for a setting that cannot sign.
    """
    domain, selector, key = (str(config.get(name) or "") for name in ("domain", "selector", "private_key"))
    if not (domain and selector and key):
        return None
    return _signer(domain, selector, key)


def sign(raw: bytes, settings: StoreSettings) -> bytes:
    """``raw`` signed with the store's key, or as it is when DKIM is not set up."""
    signer = signer_for(settings.dkim or {})
    if signer is None or raw.startswith(b"DKIM-Signature:"):  # a composer that went the standard way
        return raw
    return signer.sign(raw)


def store_key(settings: StoreSettings, domain: str, selector: str, private_key_pem: str) -> dkim.Signer:
    """Check and store a DKIM key (sealed at rest); returns its signer. Raises ``dkim.DkimError``."""
    signer = dkim.Signer.from_pem(domain, selector, private_key_pem)
    settings.dkim = {
        "domain": signer.domain,
        "selector": signer.selector,
        "private_key": secretbox.seal(private_key_pem.strip() + "\n"),
    }
    settings.save(update_fields=["dkim", "updated_at"])
    return signer
