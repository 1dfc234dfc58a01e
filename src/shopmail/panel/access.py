"""The panel's access rules live in ``shopmail.core.staff`` (one check for every staff page)."""

from shopmail.core.staff import (
    CONTENT_SECURITY_POLICY,
    forbidden,
    harden,
    staff_required,
    superuser_required,
)

__all__ = ["CONTENT_SECURITY_POLICY", "forbidden", "harden", "staff_required", "superuser_required"]
