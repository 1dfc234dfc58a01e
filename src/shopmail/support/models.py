"""Customer service: return requests (RMA), help-desk threads and contact-form messages."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from shopmail.store.models import Customer, Order


class ReturnRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        DENIED = "denied"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="returns")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    reason = models.TextField()
    lines = models.JSONField(default=list)  # [{"line_id", "name", "sku", "quantity"}]
    comment = models.TextField(blank=True, default="")  # staff's, with the decision
    source = models.CharField(max_length=10, default="my_page")  # my_page | api
    event_id = models.CharField(max_length=64, null=True, blank=True, unique=True)  # the shop's event id
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-requested_at", "-id")
        indexes = [models.Index(fields=("status", "requested_at"))]

    @property
    def number(self) -> str:
        return f"RMA-{1000 + self.pk}"

    def __str__(self) -> str:
        return self.number


class Thread(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="threads")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="threads")
    subject = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    awaiting_staff = models.BooleanField(default=True)

    class Meta:
        ordering = ("-updated_at", "-id")

    def __str__(self) -> str:
        return self.subject


class ThreadMessage(models.Model):
    class Author(models.TextChoices):
        CUSTOMER = "customer"
        STAFF = "staff"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=10, choices=Author.choices)
    author_name = models.CharField(max_length=500, blank=True, default="")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    source = models.CharField(max_length=10, default="my_page")  # my_page | api | panel
    event_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")


class ContactMessage(models.Model):
    name = models.CharField(max_length=500)
    email = models.CharField(max_length=254)
    subject = models.CharField(max_length=500, blank=True, default="")
    body = models.TextField()
    order_ref = models.CharField(max_length=64, blank=True, default="")  # as the sender typed it
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="contact_messages"
    )
    source = models.CharField(max_length=10, default="form")  # form | api
    event_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
