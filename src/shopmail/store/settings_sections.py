"""The store's own sections of the settings (``store_settings``): its details (name, addresses,
language, the notify-since time, ...) and the branding of every e-mail and customer page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopmail.domain.snapshot import Email, Instant
from shopmail.store.models import StoreSettings
from shopmail.store.store_settings import Section


class DetailsIn(BaseModel):
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


def details_view(settings: StoreSettings) -> dict[str, Any]:
    shown: dict[str, Any] = {name: getattr(settings, name) for name in DetailsIn.model_fields}
    shown["notify_since"] = settings.notify_since.isoformat()
    return shown


def apply_details(settings: StoreSettings, part: DetailsIn) -> None:
    for name, value in part.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(settings, name, value)


DETAILS = Section("details", DetailsIn, details_view, apply_details)


class BrandingIn(BaseModel):
    """Branding (SPEC section 4): the logo heading every e-mail and customer page, the accent
    colour of buttons and the header, a footer line (address, VAT id) under every e-mail."""

    model_config = ConfigDict(extra="forbid")
    logo_url: Annotated[str, Field(max_length=2000, pattern=r"^(https?://[^\s\"'<>]+)?$")] | None = None
    accent_color: Annotated[str, Field(pattern=r"^(#[0-9a-fA-F]{6})?$")] | None = None
    footer_text: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] | None = None


class BrandingPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branding: BrandingIn | None = None  # SPEC section 4: fields given are changed, "" clears one


def branding_view(settings: StoreSettings) -> dict[str, Any]:
    stored = settings.branding or {}
    return {
        "branding": {
            "logo_url": str(stored.get("logo_url") or ""),
            "accent_color": str(stored.get("accent_color") or settings.brand_color),
            "footer_text": str(stored.get("footer_text") or ""),
        }
    }


def apply_branding(settings: StoreSettings, part: BrandingPatch) -> None:
    assert part.branding is not None  # a part holds only the keys given
    given = part.branding.model_dump(exclude_unset=True, exclude_none=True)
    settings.branding = {**settings.branding, **given}


BRANDING = Section("branding", BrandingPatch, branding_view, apply_branding)
