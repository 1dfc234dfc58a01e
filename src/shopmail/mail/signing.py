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
    if signer is None:
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


def public_json(settings: StoreSettings) -> dict[str, Any]:
    """The ``dkim`` setting as the API and the panel show it: the key write-only, the record to publish."""
    config = dict(settings.dkim or {})
    out: dict[str, Any] = {
        "domain": config.get("domain", ""),
        "selector": config.get("selector", ""),
        "private_key_set": bool(config.get("private_key")),
    }
    try:
        signer = signer_for(config)
    except (dkim.DkimError, secretbox.SecretUnreadable) as exc:
        out["error"] = str(exc)
        return out
    if signer is not None:
        out["dns_name"] = signer.dns_name
        out["dns_record"] = signer.dns_record()
        out["txt_line"] = dkim.txt_line(signer)
    return out


def patched(settings: StoreSettings, patch: dict[str, Any]) -> dict[str, Any]:
    """The ``dkim`` value to store for a PATCH: a new key is checked and sealed; without one the
    stored key is kept (and checked against a new domain or selector); ``private_key: ""`` turns
    signing off. Raises ``dkim.DkimError`` naming what is wrong."""
    old = dict(settings.dkim or {})
    if patch.get("private_key") == "":
        return {}
    domain = str(patch.get("domain", old.get("domain", "")))
    selector = str(patch.get("selector", old.get("selector", "")))
    if patch.get("private_key"):
        signer = dkim.Signer.from_pem(domain, selector, patch["private_key"])
        sealed = secretbox.seal(patch["private_key"].strip() + "\n")
    elif old.get("private_key"):
        signer = dkim.Signer.from_pem(domain, selector, secretbox.unseal(old["private_key"]))
        sealed = old["private_key"]
    else:
        raise dkim.DkimError("a private_key is needed (or make one: shopmail dkim generate)")
    return {"domain": signer.domain, "selector": signer.selector, "private_key": sealed}
