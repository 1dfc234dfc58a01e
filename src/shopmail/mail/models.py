"""The outbox: narrow status rows to claim cheaply, the payload apart, and every attempt."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone


class Status(models.TextChoices):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"
    BOUNCED = "bounced"  # accepted, then reported undeliverable (SPEC section 9)


class Priority(models.IntegerChoices):
    ORDER = 0  # order and staff mail
    BULK = 5  # newsletters: only when no order mail is due


class Message(models.Model):
    """One e-mail to one recipient. ``key`` makes each fact yield at most one message."""

    key = models.CharField(max_length=200, unique=True)
    notification = models.CharField(max_length=40)
    to_email = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    priority = models.SmallIntegerField(default=Priority.ORDER)
    due_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    # indexed by mail_order_idx (its first column) and mail_resend_idx (only the resends)
    order = models.ForeignKey("store.Order", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    message_id = models.CharField(max_length=250, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        # Every index is written for each message queued (a newsletter queues 100,000 at once):
        # only what a query uses (issue 26). No ``varchar_pattern_ops`` twins on PostgreSQL;
        # the address is found case-blind (``to_email__iexact`` is ``UPPER(...) = UPPER(...)``).
        indexes = [
            models.Index(fields=("status", "priority", "due_at"), name="mail_claim_idx"),
            models.Index(fields=("order", "created_at"), name="mail_order_idx"),
            models.Index(fields=("notification",), name="mail_notification_idx"),
            models.Index(Upper("to_email"), name="mail_to_email_idx"),
            models.Index(fields=("resend_of",), name="mail_resend_idx", condition=Q(resend_of__isnull=False)),
        ]


class Payload(models.Model):
    """What to render (``context``) and, once rendered, exactly what is sent."""

    message = models.OneToOneField(
        Message, primary_key=True, on_delete=models.CASCADE, related_name="payload"
    )
    language = models.CharField(max_length=8, default="en")
    context = models.JSONField(default=dict)
    reply_to = models.CharField(max_length=254, blank=True, default="")
    subject = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    raw = models.BinaryField(null=True, blank=True)
    template_version = models.CharField(max_length=64, blank=True, default="")


class Attempt(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10)
    code = models.IntegerField(null=True, blank=True)
    reply = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ("at", "id")


class TemplateVersion(models.Model):
    """Every saved version of a template override; the newest one for a key and language is live.

    A row with ``restored_default`` marks "back to the packaged default" so history is kept.
    """

    notification = models.CharField(max_length=40)
    language = models.CharField(max_length=8)
    subject = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    restored_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254, blank=True, default="")
    # Saved in the simple editor: what the owner typed (subject, extra text and where it goes);
    # subject/text/html above hold the standard template with that text in the layout's slot.
    simple = models.BooleanField(default=False)
    simple_subject = models.TextField(blank=True, default="")
    extra_text = models.TextField(blank=True, default="")
    extra_position = models.CharField(max_length=6, blank=True, default="")  # "top" or "bottom"

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("notification", "language", "created_at"), name="mail_tpl_idx")]


class WorkerBeat(models.Model):
    """A delivery worker's heartbeat: who it is, that it is alive, what it did, its last error.

    Written by the worker every few seconds (and at once after an error it got over); read by
    ``/healthz``, ``/metrics`` and the dashboard, which may run in other processes: what a worker
    is doing lives here, never in a module global (DESIGN "Layers").
    """

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    transport = models.CharField(max_length=20, blank=True, default="")
    sent = models.BigIntegerField(default=0)
    deferred = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    config_error = models.TextField(blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-seen_at", "worker_id")
