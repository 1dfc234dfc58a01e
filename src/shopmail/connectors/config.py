"""The ``connectors`` settings (SPEC section 8): validated, secrets sealed at rest and write-only.

``{"shopify": {"shop_url", "access_token", "webhook_secret", "pull_every_minutes"},
"woocommerce": {"url", "consumer_key", "consumer_secret", "webhook_secret", "pull_every_minutes"}}``
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shopmail.connectors.models import Connector
from shopmail.core import secretbox
from shopmail.store.models import StoreSettings
from shopmail.store.store_settings import Section

SECRETS = ("access_token", "consumer_secret", "webhook_secret")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

Minutes = Annotated[int, Field(ge=1, le=10_080)]
Secret = Annotated[str, Field(max_length=500, pattern=r"^[^\r\n\x00]*$")]


def _shop_url(value: str | None, https_only: bool) -> str | None:
    if value is None or value == "":
        return value
    value = value.strip().rstrip("/")
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be the shop's address, e.g. https://shop.example.com")
    if https_only and parts.scheme != "https" and parts.hostname not in _LOOPBACK:
        raise ValueError("must use https")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class ShopifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shop_url: Annotated[str, Field(max_length=300)] | None = None
    access_token: Secret | None = None
    webhook_secret: Secret | None = None
    pull_every_minutes: Minutes | None = None

    @field_validator("shop_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _shop_url(value, https_only=True)


class WooCommerceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(max_length=300)] | None = None
    consumer_key: Secret | None = None
    consumer_secret: Secret | None = None
    webhook_secret: Secret | None = None
    pull_every_minutes: Minutes | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _shop_url(value, https_only=False)  # WooCommerce documents plain http too


class ConnectorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shopify: ShopifyIn | None = None
    woocommerce: WooCommerceIn | None = None


def secret(connector: Connector, name: str) -> str:
    value = connector.setting(name)
    if not value:
        return ""
    try:
        return secretbox.unseal(value)
    except secretbox.SecretUnreadable:
        return ""


def public(connector: Connector) -> dict[str, Any]:
    """What GET shows: the settings without secrets (``<secret>_set`` instead) and the pull state."""
    data = {k: v for k, v in (connector.settings or {}).items() if k not in SECRETS}
    for name in SECRETS:
        if name in _fields(connector.platform):
            data[f"{name}_set"] = bool(connector.setting(name))
    data["pull"] = {
        "cursor": connector.cursor.isoformat() if connector.cursor else None,
        "last_pull_at": connector.last_pull_at.isoformat() if connector.last_pull_at else None,
        "last_error": connector.last_error,
        "last_summary": connector.last_summary,
    }
    return data


def _fields(platform: str) -> tuple[str, ...]:
    model = ShopifyIn if platform == "shopify" else WooCommerceIn
    return tuple(model.model_fields)


def all_public() -> dict[str, Any]:
    return {platform: public(Connector.load(platform)) for platform in ("shopify", "woocommerce")}


def validate(body: Any) -> ConnectorsIn:
    """Raises pydantic's ValidationError naming each bad field."""
    return ConnectorsIn.model_validate(body)


def apply(patch: ConnectorsIn) -> None:
    """Store the given fields; a secret given as "" is removed, one not given is kept; ``null``
    for ``pull_every_minutes`` switches the scheduled pull off."""
    for platform in ("shopify", "woocommerce"):
        given = getattr(patch, platform)
        if given is None:
            continue
        connector = Connector.load(platform)
        settings = dict(connector.settings or {})
        for name, value in given.model_dump(exclude_unset=True).items():
            if value is None or value == "":
                settings.pop(name, None)
            else:
                settings[name] = secretbox.seal(value) if name in SECRETS else value
        connector.settings = settings
        connector.save(update_fields=["settings"])


def configure(platform: str, **values: Any) -> None:
    """Set one connector's fields (tests, the CLI): ``configure("woocommerce", url=..., ...)``."""
    try:
        apply(validate({platform: values}))
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


class ConnectorsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connectors: ConnectorsIn | None = None  # SPEC section 8; secrets write-only


def _apply(settings: StoreSettings, part: ConnectorsPatch) -> None:
    if part.connectors is not None:
        apply(part.connectors)  # kept in the connectors' own table, secrets sealed


# The ``connectors`` section of the store settings, registered from ``ConnectorsConfig.ready()``.
SECTION = Section("connectors", ConnectorsPatch, lambda settings: {"connectors": all_public()}, _apply)
