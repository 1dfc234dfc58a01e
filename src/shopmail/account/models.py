"""My page accounts: a password (Argon2 hash) per shop customer, one-time link tokens, throttles.

Customers are not Django users: they never share a session key, a permission or a login form
with the store's staff. A ``CustomerAccount`` belongs to exactly one ``store.Customer``; its
password is set only through an invitation or a password-reset link (``AccountToken``), whose
random token is stored as a SHA-256 digest, used once, and expires.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from shopmail.store.models import Customer


class CustomerAccount(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="account")
    password = models.CharField(max_length=256, blank=True, default="")  # "" until one is chosen
    password_changed_at = models.DateTimeField(null=True, blank=True)
    last_login = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def __str__(self) -> str:
        return f"account of {self.customer}"


class AccountToken(models.Model):
    """A one-time link: an invitation or a password reset. Only the digest of the token is kept."""

    class Purpose(models.TextChoices):
        INVITE = "invite"
        RESET = "reset"

    account = models.ForeignKey(CustomerAccount, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=("account", "purpose"))]


class Throttle(models.Model):
    """A fixed-window counter (login failures per address, contact posts per IP, ...).

    Kept in the database so that every web process behind a load balancer counts together.
    ``key`` is a SHA-256 of the scope and the identifier, so no address or IP is stored.
    """

    key = models.CharField(max_length=64, unique=True)
    window_start = models.DateTimeField()
    count = models.IntegerField(default=0)
