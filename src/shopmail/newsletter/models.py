"""Newsletters: saved segments, newsletters with their frozen recipient lists, and opt-in records."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Segment(models.Model):
    """A saved, named set of filters over opted-in customers (see ``segments.FILTERS``)."""

    name = models.CharField(max_length=200, unique=True)
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class NewsletterStatus(models.TextChoices):
    DRAFT = "draft"  # editable; test sends only
    SENDING = "sending"  # recipients frozen, being queued (a crash leaves it here; sending again resumes)
    QUEUED = "queued"  # every recipient is in the outbox (due now, at scheduled_at, or spread by the rate)


class Newsletter(models.Model):
    subject = models.CharField(max_length=500)
    html = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    # True while the text part is the one generated from the HTML (editing it turns this off)
    text_generated = models.BooleanField(default=True)
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL)
    filters = models.JSONField(default=dict, blank=True)  # the filters in use; frozen by sending
    status = models.CharField(max_length=10, choices=NewsletterStatus.choices, default=NewsletterStatus.DRAFT)
    revision = models.PositiveIntegerField(default=1)  # bumped on every edit (caches key on it)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    rate_per_hour = models.PositiveIntegerField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.subject

    @property
    def editable(self) -> bool:
        return self.status == NewsletterStatus.DRAFT


class Recipient(models.Model):
    """One customer on a newsletter's frozen recipient list, and the message queued for them."""

    # The three links have no database-level foreign key (ADR 0014): on PostgreSQL checking one
    # took a row lock per recipient at commit, half of queueing a large newsletter. Rows are
    # deleted only through the ORM, whose on_delete keeps them right; an id whose row is gone
    # reads as None, as a deleted customer does.
    # indexed by the two unique constraints below, whose first column it is
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, related_name="recipients", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey("store.Customer", null=True, on_delete=models.SET_NULL, db_constraint=False)
    position = models.PositiveIntegerField()  # 0.. in list order; spaces due times under a rate limit
    email = models.CharField(max_length=254)
    language = models.CharField(max_length=8, blank=True, default="")
    message = models.OneToOneField(
        "mail.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="newsletter_recipient",
        db_constraint=False,
    )
    skipped = models.CharField(max_length=40, blank=True, default="")  # why nothing was queued

    class Meta:
        ordering = ("newsletter", "position")
        constraints = [
            models.UniqueConstraint(fields=("newsletter", "customer"), name="newsletter_recipient_once"),
            models.UniqueConstraint(fields=("newsletter", "position"), name="newsletter_recipient_position"),
        ]


class ConsentSource(models.TextChoices):
    SHOP = "shop"  # newsletter_opt_in from the shop's data (API or sync)
    ACCOUNT = "account"  # My page settings
    UNSUBSCRIBE_LINK = "unsubscribe_link"  # the link in a newsletter
    ONE_CLICK = "one_click"  # RFC 8058 POST from the mail client
    PANEL = "panel"  # staff in the control panel
    API = "api"
    COMPLAINT = "complaint"  # the recipient reported a newsletter as spam (an ARF report, SPEC 9)


class Consent(models.Model):
    """One opt-in or opt-out of a customer: when, how, and (for unsubscribes) from which newsletter."""

    customer = models.ForeignKey(
        "store.Customer", on_delete=models.CASCADE, related_name="newsletter_consents"
    )
    subscribed = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    newsletter = models.ForeignKey(Newsletter, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ("-at", "-id")
        indexes = [models.Index(fields=("customer", "at"), name="newsletter_consent_idx")]
