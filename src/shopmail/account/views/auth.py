"""Signing in and out, invitations, forgotten and changed passwords."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.hashers import check_password
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from shopmail.account import auth, language, mailing, throttle, tokens
from shopmail.account.forms import ChangePasswordForm, ForgotForm, LoginForm, SetPasswordForm
from shopmail.account.models import AccountToken, CustomerAccount
from shopmail.account.pages import page

# A reset request is answered no sooner than this, whether or not a mail was queued, so the
# answer's timing does not tell whether the address has an account.
RESET_ANSWER_SECONDS = 0.35

WRONG_LOGIN = _("That e-mail address and password do not match an account.")
LOCKED = _(
    "Too many failed attempts. Please wait 15 minutes, or choose a new password with “Forgot your password?”."
)


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate.startswith("/account/") and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("account:orders")


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if auth.current_account(request) is not None:
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        password = form.cleaned_data["password"]
        ip = throttle.client_ip(request)
        if throttle.blocked(throttle.LOGIN_FAILURES, email) or throttle.blocked(
            throttle.LOGIN_FAILURES_IP, ip
        ):
            check_password(password, auth.dummy_hash())  # the same work as a real attempt
            error, status = str(LOCKED), 429
        else:
            account = auth.authenticate(email, password)
            if account is None:
                throttle.hit(throttle.LOGIN_FAILURES, email)
                throttle.hit(throttle.LOGIN_FAILURES_IP, ip)
                error, status = str(WRONG_LOGIN), 400
            else:
                throttle.clear(throttle.LOGIN_FAILURES, email)
                auth.login(request, account)
                return HttpResponseRedirect(_next_url(request))
    elif request.method == "POST":
        status = 400
    return page(
        request,
        "account/login.html",
        {"form": form, "error": error, "next": _next_url(request), "section": "login"},
        status=status,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("account:login")


@require_http_methods(["GET", "POST"])
def forgot(request: HttpRequest) -> HttpResponse:
    form = ForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        started = time.monotonic()
        email = form.cleaned_data["email"].strip().lower()
        if throttle.hit(throttle.RESET_REQUESTS_IP, throttle.client_ip(request)) and throttle.hit(
            throttle.RESET_REQUESTS, email
        ):
            customer = mailing.customer_for_address(email)
            if customer is not None:
                mailing.reset(customer)
        left = RESET_ANSWER_SECONDS - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)
        return redirect("account:forgot_sent")
    return page(
        request, "account/forgot.html", {"form": form, "section": "login"}, status=400 if form.errors else 200
    )


def forgot_sent(request: HttpRequest) -> HttpResponse:
    return page(request, "account/forgot_sent.html", {"section": "login"})


def _set_password(request: HttpRequest, token: str, purpose: str) -> HttpResponse:
    title = (
        _("Accept your invitation") if purpose == AccountToken.Purpose.INVITE else _("Choose a new password")
    )
    row = tokens.find(token, purpose)
    if row is not None and purpose == AccountToken.Purpose.INVITE and row.account.has_password:
        row = None  # a password was chosen since the invitation: only a reset may replace it
    if row is None:
        return page(
            request, "account/link_invalid.html", {"purpose": purpose, "section": "login"}, status=410
        )
    language.use_customer(request, row.account.customer)  # the link came in their e-mail
    form = SetPasswordForm(row.account.customer, request.POST or None)
    if request.method == "POST":
        if not throttle.hit(throttle.TOKEN_ATTEMPTS_IP, throttle.client_ip(request)):
            return page(
                request, "account/link_invalid.html", {"purpose": purpose, "throttled": True}, status=429
            )
        if form.is_valid():
            account: CustomerAccount | None = tokens.consume(token, purpose)
            if account is None:
                return page(request, "account/link_invalid.html", {"purpose": purpose}, status=410)
            auth.set_password(account, form.cleaned_data["new_password1"])
            throttle.clear(throttle.LOGIN_FAILURES, account.customer.email.strip().lower())
            current = auth.current_account(request)
            if current is not None:
                auth.logout(request)
            messages.success(
                request, _("Your password is set. Sign in with your e-mail address and the new password.")
            )
            return redirect("account:login")
    return page(
        request,
        "account/set_password.html",
        {"form": form, "title": title, "email": row.account.customer.email, "purpose": purpose},
        status=400 if form.errors else 200,
    )


@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, token: str) -> HttpResponse:
    return _set_password(request, token, AccountToken.Purpose.INVITE)


@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest, token: str) -> HttpResponse:
    return _set_password(request, token, AccountToken.Purpose.RESET)


@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@auth.customer_required
def password(request: HttpRequest, account: CustomerAccount) -> HttpResponse:
    email = account.customer.email.strip().lower()
    form = ChangePasswordForm(account, request.POST or None)
    status = 200
    if request.method == "POST":
        if throttle.blocked(throttle.LOGIN_FAILURES, email):
            form.is_valid()
            form.errors.clear()
            form.add_error(None, LOCKED)
            status = 429
        elif form.is_valid():
            auth.set_password(account, form.cleaned_data["new_password1"])
            AccountToken.objects.filter(account=account, used_at__isnull=True).delete()
            auth.refresh_session(request, account)
            messages.success(request, _("Your password has been changed."))
            return redirect("account:password")
        else:
            if form.has_error("current_password", "password_incorrect"):
                throttle.hit(throttle.LOGIN_FAILURES, email)
            status = 400
    return page(request, "account/password.html", {"form": form, "section": "password"}, status=status)
