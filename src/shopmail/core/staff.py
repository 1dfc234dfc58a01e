"""Who may see staff pages: signed-in, active staff. Every panel view goes through here.

The one staff-permission check: the panel and the staff pages of the features (returns, help
desk, newsletters) all use it, so a rule changed here holds everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

View = Callable[..., HttpResponseBase]

# The panel's own pages run no inline script and load nothing from elsewhere; e-mail previews
# are shown in sandboxed iframes (srcdoc inherits this policy, so their inline styles and remote
# images are allowed, scripts are not).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https: http:",
        "font-src 'self' data:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def harden(response: HttpResponseBase) -> HttpResponseBase:
    """Headers for every panel response: no caching of customer data, a strict CSP."""
    add_never_cache_headers(response)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def forbidden(request: HttpRequest, reason: str) -> HttpResponseBase:
    return harden(render(request, "panel/forbidden.html", {"reason": reason}, status=403))


def staff_required(view: View) -> View:
    """Anonymous visitors go to the sign-in page; signed-in users who are not staff get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not (user.is_active and user.is_staff):
            return forbidden(request, _("This account is not a member of the store's staff."))
        return harden(view(request, *args, **kwargs))

    return wrapped


def superuser_required(view: View) -> View:
    """Staff management: only administrators (``shopmail createadmin`` makes one)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_superuser:
            return forbidden(request, _("Only administrators can manage staff users."))
        return view(request, *args, **kwargs)

    return staff_required(wrapped)
