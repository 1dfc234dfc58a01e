"""The store's data: settings, customers, products, orders and their change history."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from shopmail import db
from shopmail.domain import statuses
from shopmail.domain.rules import Switches
from shopmail.domain.statuses import Meaning


def _default_transport() -> dict[str, Any]:
    return {"kind": "capture"}


def whole_second_now() -> dt.datetime:
    """Now, to the whole second: shops send times in seconds, so an order placed in the very second the
    store was set up is not taken for one from before ``notify_since``."""
    return timezone.now().replace(microsecond=0)


class StoreSettings(models.Model):
    """The one row of store-wide settings (SPEC section 2, ``/api/v1/settings``)."""

    company_name = models.CharField(max_length=200, default="My Shop")
    company_url = models.URLField(max_length=500, default="https://shop.example.com")
    admin_email = models.EmailField(max_length=254, blank=True, default="")
    from_email = models.EmailField(max_length=254, default="shop@example.com")
    from_name = models.CharField(max_length=200, blank=True, default="My Shop")
    reply_to = models.EmailField(max_length=254, blank=True, default="")
    default_language = models.CharField(max_length=8, default="en")
    brand_color = models.CharField(max_length=7, default="#1f6feb")
    notify_since = models.DateTimeField(default=whole_second_now)
    allow_backorder_choice = models.BooleanField(default=True)
    notifications = models.JSONField(default=dict, blank=True)
    rules = models.JSONField(default=dict, blank=True)
    transport = models.JSONField(default=_default_transport)
    # SPEC section 9: {"domain", "selector", "private_key" (sealed at rest)} and {"domain"}
    dkim = models.JSONField(default=dict, blank=True)
    bounces = models.JSONField(default=dict, blank=True)
    # SPEC section 3: what each status slug means (a platform's preset, with the store's entries)
    platform = models.CharField(max_length=20, default="generic")
    status_map = models.JSONField(default=dict, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")  # IANA name; zone-less times are read in it
    # SPEC section 4: {"logo_url", "accent_color", "footer_text"} on every e-mail and customer page
    branding = models.JSONField(default=dict, blank=True)
    update_digest_minutes = models.PositiveIntegerField(default=0)  # SPEC section 4; 0: no digest
    # the panel's last test e-mail: {"ok", "at", "to", "reply"} (its outcome colours the transport badge)
    transport_test = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    @classmethod
    def load(cls) -> StoreSettings:
        settings = db.by_pk(StoreSettings, 1)  # read per request: the ORM's query costs 5x the row
        if settings is None:
            settings = StoreSettings(pk=1)
            url = django_settings.CONFIG.smtp_url
            if url:  # SHOPMAIL_SMTP_URL seeds the SMTP transport on first start
                from shopmail.core import secretbox
                from shopmail.domain.smtp_url import parse_smtp_url

                seeded = {k: v for k, v in parse_smtp_url(url).items() if v is not None}
                if seeded.get("password"):
                    seeded["password"] = secretbox.seal(seeded["password"])  # at rest: sealed
                settings.transport = {"kind": "smtp", **seeded}
            settings.save(force_insert=True)
        return settings

    def meaning(self) -> Meaning:
        """The store's status meanings (``statuses.resolver`` of ``platform`` and ``status_map``)."""
        return statuses.resolver(self.platform, self.status_map)

    def zone(self) -> dt.tzinfo:
        """The store's time zone (UTC when the stored name is not one)."""
        try:
            return ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return dt.UTC

    def switches(self) -> Switches:
        return Switches(dict(self.notifications), dict(self.rules), self.allow_backorder_choice)

    def store_context(self) -> dict[str, Any]:
        return {
            "company_name": self.company_name,
            "company_url": self.company_url,
            "brand_color": (self.branding or {}).get("accent_color") or self.brand_color,
            "logo_url": (self.branding or {}).get("logo_url") or "",
            "footer_text": (self.branding or {}).get("footer_text") or "",
            "default_language": self.default_language,
            "admin_email": self.admin_email,
            "from_name": self.from_name,
        }


class Customer(models.Model):
    external_id = models.CharField(max_length=64, unique=True)
    email = models.CharField(max_length=254, db_index=True)
    first_name = models.CharField(max_length=500, blank=True, default="")
    last_name = models.CharField(max_length=500, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    newsletter_opt_in = models.BooleanField(default=False)
    newsletter_opt_in_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict)
    data_hash = models.CharField(max_length=32, default="")
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=500, blank=True, default="")
    stock_quantity = models.BigIntegerField(default=0)
    download_instructions = models.TextField(blank=True, default="")
    restocks = models.IntegerField(default=0)
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.sku


class Order(models.Model):
    """The latest snapshot of an order, and what its customer has been told so far."""

    external_id = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=500, db_index=True, blank=True, default="")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    snapshot = models.JSONField()
    snapshot_hash = models.CharField(max_length=32, db_index=True)
    notify_state = models.JSONField(default=dict)
    backorder_choice = models.CharField(max_length=20, blank=True, default="")
    backorder_choice_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.number or self.external_id

    def is_cancelled(self, settings: StoreSettings | None = None) -> bool:
        """Its status means cancelled in this store: by the store's platform preset and its own
        status map (SPEC 3), so ``canceled``, ``wc-cancelled``, PrestaShop's ``6`` or a slug staff
        mapped, not only the slug ``cancelled``."""
        return (settings or StoreSettings.load()).meaning()(self.status) == statuses.CANCELLED


class BackorderLine(models.Model):
    """Open back-ordered order lines by SKU, so a restock finds its orders without a scan."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="backorder_lines")
    sku = models.CharField(max_length=64, db_index=True)


class SyncRun(models.Model):
    """One ingest: a sync document, an order PUT or a product restock."""

    source = models.CharField(max_length=20)  # api, sync, cli, panel, product, event
    actor = models.CharField(max_length=200, blank=True, default="")  # panel: the staff user (SPEC 7)
    started_at = models.DateTimeField(default=timezone.now)
    dry_run = models.BooleanField(default=False)
    silent = models.BooleanField(default=False)
    summary = models.JSONField(default=dict)


class OrderEvent(models.Model):
    """The change history of an order: every change found, and what it sent or why not."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    run = models.ForeignKey(SyncRun, null=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(default=timezone.now)
    rule = models.CharField(max_length=40)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    line = models.CharField(max_length=64, blank=True, default="")
    shipment = models.CharField(max_length=64, blank=True, default="")
    description = models.TextField()
    outcome = models.CharField(max_length=40)
    before_meaning = models.CharField(max_length=20, blank=True, default="")  # status changes: SPEC 3
    after_meaning = models.CharField(max_length=20, blank=True, default="")
    message = models.ForeignKey("mail.Message", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ("at", "id")
        indexes = [models.Index(fields=("order", "at"))]


class FeedEvent(models.Model):
    """One entry of the feed the shop reads back (customer.updated, rma.decided, ...)."""

    type = models.CharField(max_length=40)
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict)
