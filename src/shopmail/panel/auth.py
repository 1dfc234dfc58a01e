"""Signing in and out, and changing one's password (Django's views; throttled by django-axes).

Django's ``login()`` rotates the session key, so a session fixed before sign-in is useless
after it. Failed attempts are counted per account and client IP (``AXES_LOCKOUT_PARAMETERS``):
that pair is locked after ``AXES_FAILURE_LIMIT`` of them, so an attacker elsewhere cannot keep the
owner out. Across usernames, one client IP may fail ``STAFF_LOGIN_FAILURES_PER_IP`` times within
the cool-off time (password spraying). The client IP is ``core.client_ip`` 's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from shopmail.core.client_ip import client_ip
from shopmail.panel.access import harden, staff_required


class StaffAuthenticationForm(AuthenticationForm):
    """Sign-in by e-mail address (the username is the lower-cased address); staff only."""

    username = forms.CharField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That e-mail address and password do not match a staff account."),
        "not_staff": _("This account is not a member of the store's staff."),
    }

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class LoginView(auth_views.LoginView):
    template_name = "panel/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("panel:dashboard")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if (
            request.method == "POST"
            and ip_failures(client_ip(request)) >= settings.STAFF_LOGIN_FAILURES_PER_IP
        ):
            return lockout_response(request)
        return harden(super().dispatch(request, *args, **kwargs))


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5); then back to the sign-in page."""

    def get_default_redirect_url(self) -> str:
        return reverse("panel:login")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, gettext("You are signed out."))
        return response


@method_decorator(sensitive_post_parameters(), name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; the session stays valid (``update_session_auth_hash``)."""

    template_name = "panel/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("panel:dashboard")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, gettext("Your password was changed."))
        return response


login = LoginView.as_view()
logout = LogoutView.as_view()
password_change = staff_required(PasswordChangeView.as_view())


def ip_failures(ip: str) -> int:
    """Failed staff sign-ins from ``ip`` within the cool-off time, over every username."""
    since = timezone.now() - dt.timedelta(hours=float(settings.AXES_COOLOFF_TIME or 0))
    failures = AccessAttempt.objects.filter(ip_address=ip, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return int(failures or 0)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponseBase:
    """A readable page for a locked account (for ``AXES_LOCKOUT_CALLABLE``)."""
    minutes = round(float(getattr(settings, "AXES_COOLOFF_TIME", 0.25) or 0) * 60)
    return harden(
        render(
            request,
            "panel/locked.html",
            {"minutes": minutes, "limit": getattr(settings, "AXES_FAILURE_LIMIT", 5)},
            status=429,
        )
    )
