"""Reports received and the addresses shopmail will not mail."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Reason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce"  # a permanent 5.x.x delivery status
    COMPLAINT = "complaint"  # an ARF feedback report (the recipient pressed "spam")
    MANUAL = "manual"  # added by staff


class Scope(models.TextChoices):
    ALL = "all"  # no mail at all: order and staff mail is held with the reason "suppressed"
    NEWSLETTER = "newsletter"  # newsletters only; order mail still goes


class Suppression(models.Model):
    email = models.CharField(max_length=254, unique=True)  # normalised (lower-case domain)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    scope = models.CharField(max_length=12, choices=Scope.choices)
    detail = models.TextField(blank=True, default="")  # the receiving server's words
    message = models.ForeignKey("mail.Message", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)


class BounceReport(models.Model):
    """One recipient of one report: kept for the message's history and the bounce counts."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=10)  # bounce, delay, complaint, unknown
    email = models.CharField(max_length=254, blank=True, default="")
    status = models.CharField(max_length=16, blank=True, default="")
    diagnostic = models.TextField(blank=True, default="")
    permanent = models.BooleanField(default=False)
    message = models.ForeignKey("mail.Message", null=True, blank=True, on_delete=models.SET_NULL)
    via = models.CharField(max_length=8, default="api")  # api or smtp
