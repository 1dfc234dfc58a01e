"""Store settings (SPEC section 2, ``/api/v1/settings``); transport secrets are write-only."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopmail.api.base import body_schema, json_body, json_response
from shopmail.connectors import config as connectors_config
from shopmail.core import secretbox
from shopmail.core.errors import Rejected, pydantic_errors
from shopmail.domain import dkim
from shopmail.domain.changes import RULES
from shopmail.domain.snapshot import Email, Instant
from shopmail.mail import signing
from shopmail.mail.webhooks import config as webhooks_config
from shopmail.store import statuses as store_statuses
from shopmail.store.models import StoreSettings

router = Router(tags=["settings"])
Meaning = Literal["pending", "on_hold", "failed", "processing", "completed", "cancelled", "refunded"]
SECRET_FIELDS = ("password",)


class TransportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["smtp", "sendmail", "capture"]
    host: Annotated[str, Field(max_length=253, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    security: Literal["none", "starttls", "tls"] | None = None
    username: Annotated[str, Field(max_length=200)] | None = None
    password: Annotated[str, Field(max_length=500)] | None = None
    timeout: Annotated[float, Field(gt=0, le=600)] | None = None
    pool_size: Annotated[int, Field(ge=1, le=64)] | None = None
    # no "path": the sendmail program comes only from SHOPMAIL_SENDMAIL (SPEC section 1)


class DkimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: Annotated[str, Field(max_length=253)] | None = None
    selector: Annotated[str, Field(max_length=63)] | None = None
    private_key: Annotated[str, Field(max_length=20_000)] | None = None  # PEM; "" turns signing off


class BouncesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: Annotated[str, Field(max_length=253, pattern=r"^([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{2,63}$|^$")]


class BrandingIn(BaseModel):
    """Branding (SPEC section 4): the logo heading every e-mail and customer page, the accent
    colour of buttons and the header, a footer line (address, VAT id) under every e-mail."""

    model_config = ConfigDict(extra="forbid")
    logo_url: Annotated[str, Field(max_length=2000, pattern=r"^(https?://[^\s\"'<>]+)?$")] | None = None
    accent_color: Annotated[str, Field(pattern=r"^(#[0-9a-fA-F]{6})?$")] | None = None
    footer_text: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] | None = None


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n\x00]*$")] | None = None
    company_url: Annotated[str, Field(max_length=500, pattern=r"^https?://[^\s]+$")] | None = None
    admin_email: Email | Literal[""] | None = None
    from_email: Email | None = None
    from_name: Annotated[str, Field(max_length=200, pattern=r"^[^\r\n\x00]*$")] | None = None
    reply_to: Email | Literal[""] | None = None
    default_language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None
    brand_color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None
    notify_since: Instant | None = None
    allow_backorder_choice: bool | None = None
    update_digest_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None  # SPEC section 4
    branding: BrandingIn | None = None  # SPEC section 4: fields given are changed, "" clears one
    webhooks: list[webhooks_config.WebhookIn] | None = None  # SPEC section 8; secrets write-only
    notifications: dict[str, bool] | None = None
    rules: dict[str, bool] | None = None
    transport: TransportIn | None = None
    platform: Literal["generic", "woocommerce", "shopify", "magento", "prestashop"] | None = None
    status_map: (
        dict[
            Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\r\n\x00]*$")],
            Meaning | None,
        ]
        | None
    ) = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    dkim: DkimIn | None = None
    bounces: BouncesIn | None = None
    connectors: connectors_config.ConnectorsIn | None = None  # SPEC section 8; secrets write-only


def branding_json(settings: StoreSettings) -> dict[str, str]:
    stored = settings.branding or {}
    return {
        "logo_url": str(stored.get("logo_url") or ""),
        "accent_color": str(stored.get("accent_color") or settings.brand_color),
        "footer_text": str(stored.get("footer_text") or ""),
    }


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def notification_keys() -> tuple[str, ...]:
    from shopmail.mail.notifications import NOTIFICATIONS

    return tuple(NOTIFICATIONS)


def settings_json(settings: StoreSettings) -> dict[str, Any]:
    transport = {k: v for k, v in settings.transport.items() if k not in SECRET_FIELDS}
    if settings.transport.get("password"):
        transport["password_set"] = True
    keys = notification_keys()
    switches = settings.switches()
    return {
        "company_name": settings.company_name,
        "company_url": settings.company_url,
        "admin_email": settings.admin_email,
        "from_email": settings.from_email,
        "from_name": settings.from_name,
        "reply_to": settings.reply_to,
        "default_language": settings.default_language,
        "brand_color": settings.brand_color,
        "notify_since": settings.notify_since.isoformat(),
        "allow_backorder_choice": settings.allow_backorder_choice,
        "update_digest_minutes": settings.update_digest_minutes,
        "branding": branding_json(settings),
        "notifications": {key: switches.notification_on(key) for key in keys},
        "rules": {rule: switches.rule_on(rule) for rule in RULES},
        "transport": transport,
        "dkim": signing.public_json(settings),
        "bounces": {"domain": (settings.bounces or {}).get("domain", "")},
        "connectors": connectors_config.all_public(),
        "webhooks": webhooks_config.all_public(),
        **status_settings_json(settings),
    }


def status_settings_json(settings: StoreSettings) -> dict[str, Any]:
    """``platform``, ``status_map`` (the store's own entries), the effective map and the
    statuses of stored orders that it does not map (SPEC section 3), and ``time_zone``."""
    return {
        "time_zone": settings.time_zone,
        "platform": settings.platform,
        "status_map": dict(settings.status_map),
        "status_meanings": store_statuses.effective_map(settings),
        "unmapped_statuses": store_statuses.unmapped(settings),
    }


def apply_patch(settings: StoreSettings, body: dict[str, Any]) -> StoreSettings:
    try:
        patch = SettingsPatch.model_validate(body)
    except ValidationError as exc:
        raise Rejected(pydantic_errors(exc, ["body"])) from None
    errors = []
    keys = notification_keys()
    for key in patch.notifications or {}:
        if key not in keys:
            errors.append({"loc": ["body", "notifications", key], "msg": "is not a notification key"})
    for key in patch.rules or {}:
        if key not in RULES:
            errors.append({"loc": ["body", "rules", key], "msg": "is not an order-update rule"})
    if patch.time_zone is not None and not valid_time_zone(patch.time_zone):
        errors.append({"loc": ["body", "time_zone"], "msg": "is not a time zone name, e.g. Europe/Oslo"})
    dkim_value = None
    if patch.dkim is not None:
        try:
            dkim_value = signing.patched(settings, patch.dkim.model_dump(exclude_none=True))
        except (dkim.DkimError, secretbox.SecretUnreadable) as exc:
            errors.append({"loc": ["body", "dkim"], "msg": str(exc)})
    if patch.webhooks is not None:
        errors.extend(webhooks_config.problems(patch.webhooks))
    if errors:
        raise Rejected(errors)
    if patch.webhooks is not None:
        webhooks_config.apply(patch.webhooks)  # kept by the webhooks app, secrets sealed
    if patch.connectors is not None:
        connectors_config.apply(patch.connectors)  # kept by the connectors app, secrets sealed
    for name, value in patch.model_dump(exclude_unset=True, exclude_none=True).items():
        if name in ("connectors", "webhooks"):
            continue
        if name == "dkim":
            value = dkim_value
        if name in ("notifications", "rules", "branding"):
            value = {**getattr(settings, name), **value}
        elif name == "status_map":  # entries are added or changed; a null removes one
            merged = {**settings.status_map, **value}
            value = {status: meaning for status, meaning in merged.items() if meaning is not None}
        elif name == "transport":
            value = transport_value(settings.transport, value)
        setattr(settings, name, value)
    settings.save()
    return settings


def transport_value(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The transport to store: the password sealed; the stored one kept only for the same server.

    The password is write-only. Left out, the stored one is kept as long as the host and the
    username stay the same; a changed host or username drops it (it must not go to another
    server), unless a new one is given. An empty password removes it.
    """
    value = {k: v for k, v in new.items() if v is not None}
    password = value.pop("password", None)
    if value["kind"] != "smtp":
        return value
    if password:
        value["password"] = secretbox.seal(password)
    elif password is None and old.get("password") and same_smtp_account(old, value):
        value["password"] = old["password"]
    return value


def same_smtp_account(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def norm(host: object) -> str:
        return str(host or "").strip().rstrip(".").lower()

    return (
        old.get("kind") == "smtp"
        and norm(old.get("host")) == norm(new.get("host"))
        and (old.get("username") or None) == (new.get("username") or None)
    )


@router.get("/settings", summary="Store settings")
def get_settings(request: HttpRequest) -> HttpResponse:
    return json_response(settings_json(StoreSettings.load()))


@router.patch(
    "/settings",
    summary="Change store settings",
    openapi_extra=body_schema(SettingsPatch, "Only the fields given are changed."),
)
def patch_settings(request: HttpRequest) -> HttpResponse:
    return json_response(settings_json(apply_patch(StoreSettings.load(), json_body(request))))
