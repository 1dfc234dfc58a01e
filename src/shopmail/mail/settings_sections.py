"""Mail's sections of the store settings (``store.store_settings``): the notification switches
and order-update rules, the transport (its password write-only), DKIM (its key write-only) and
the bounce domain. Registered from ``MailConfig.ready()``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopmail.core import secretbox
from shopmail.domain import dkim
from shopmail.domain.changes import RULES
from shopmail.mail import signing
from shopmail.mail.notifications import NOTIFICATIONS
from shopmail.store.models import StoreSettings
from shopmail.store.store_settings import Problem, Section


class SwitchesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notifications: dict[str, bool] | None = None
    rules: dict[str, bool] | None = None


def switches_view(settings: StoreSettings) -> dict[str, Any]:
    switches = settings.switches()
    return {
        "notifications": {key: switches.notification_on(key) for key in NOTIFICATIONS},
        "rules": {rule: switches.rule_on(rule) for rule in RULES},
    }


def switches_problems(settings: StoreSettings, part: SwitchesIn) -> list[Problem]:
    problems: list[Problem] = [
        {"loc": ["body", "notifications", key], "msg": "is not a notification key"}
        for key in part.notifications or {}
        if key not in NOTIFICATIONS
    ]
    problems += [
        {"loc": ["body", "rules", key], "msg": "is not an order-update rule"}
        for key in part.rules or {}
        if key not in RULES
    ]
    return problems


def apply_switches(settings: StoreSettings, part: SwitchesIn) -> None:
    if part.notifications is not None:
        settings.notifications = {**settings.notifications, **part.notifications}
    if part.rules is not None:
        settings.rules = {**settings.rules, **part.rules}


SWITCHES = Section("notifications", SwitchesIn, switches_view, apply_switches, switches_problems)


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


class TransportPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transport: TransportIn | None = None


def transport_view(settings: StoreSettings) -> dict[str, Any]:
    shown = {k: v for k, v in settings.transport.items() if k != "password"}
    if settings.transport.get("password"):
        shown["password_set"] = True
    return {"transport": shown}


def apply_transport(settings: StoreSettings, part: TransportPatch) -> None:
    assert part.transport is not None  # a part holds only the keys given
    settings.transport = transport_value(settings.transport, part.transport.model_dump(exclude_none=True))


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


TRANSPORT = Section("transport", TransportPatch, transport_view, apply_transport)


class DkimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: Annotated[str, Field(max_length=253)] | None = None
    selector: Annotated[str, Field(max_length=63)] | None = None
    private_key: Annotated[str, Field(max_length=20_000)] | None = None  # PEM; "" turns signing off


class DkimPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dkim: DkimIn | None = None


def dkim_view(settings: StoreSettings) -> dict[str, Any]:
    return {"dkim": signing.public_json(settings)}


def _dkim_value(settings: StoreSettings, part: DkimPatch) -> dict[str, Any]:
    assert part.dkim is not None  # a part holds only the keys given
    return signing.patched(settings, part.dkim.model_dump(exclude_none=True))


def dkim_problems(settings: StoreSettings, part: DkimPatch) -> list[Problem]:
    try:
        _dkim_value(settings, part)
    except (dkim.DkimError, secretbox.SecretUnreadable) as exc:
        return [{"loc": ["body", "dkim"], "msg": str(exc)}]
    return []


def apply_dkim(settings: StoreSettings, part: DkimPatch) -> None:
    settings.dkim = _dkim_value(settings, part)  # checked above: the same key parsed once more


DKIM = Section("dkim", DkimPatch, dkim_view, apply_dkim, dkim_problems)


class BouncesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: Annotated[str, Field(max_length=253, pattern=r"^([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{2,63}$|^$")]


class BouncesPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bounces: BouncesIn | None = None


def bounces_view(settings: StoreSettings) -> dict[str, Any]:
    return {"bounces": {"domain": (settings.bounces or {}).get("domain", "")}}


def apply_bounces(settings: StoreSettings, part: BouncesPatch) -> None:
    assert part.bounces is not None  # a part holds only the keys given
    settings.bounces = part.bounces.model_dump(exclude_none=True)


BOUNCES = Section("bounces", BouncesPatch, bounces_view, apply_bounces)
