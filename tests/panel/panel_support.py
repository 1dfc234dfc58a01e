"""Shared by the control-panel tests (a module name of its own: test modules are not packages)."""

from __future__ import annotations

import functools

STAFF_EMAIL = "boss@shop.test"
STAFF_PASSWORD = "violet-otter-harbour-42"
XSS = "<script>alert(1)</script>"


@functools.cache
def password_hash() -> str:
    """Argon2 is slow on purpose: hash the test password once per run."""
    from django.contrib.auth.hashers import make_password

    return make_password(STAFF_PASSWORD)
