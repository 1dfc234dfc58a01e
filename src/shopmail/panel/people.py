"""Customers (list, one customer with their orders and e-mails), API keys and staff users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shopmail.api import keys
from shopmail.api.models import ApiKey
from shopmail.mail.models import Message
from shopmail.panel.access import staff_required, superuser_required
from shopmail.panel.forms import ApiKeyForm, StaffForm
from shopmail.panel.orders import paginate
from shopmail.store.models import Customer

# ---------------------------------------------------------------------------- customers


def inviter() -> Callable[[Customer], Message | None] | None:
    """My page's "send an invitation" (``account.mailing.invite``), when My page is installed.

    (``account:invite`` is the customer's own link for accepting one, not something to post to.)
    """
    try:
        from shopmail.account.mailing import invite
    except ImportError:
        return None
    return invite


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:200]
    query = Customer.objects.annotate(order_count=Count("orders")).order_by("-updated_at", "-id")
    if text:
        match = Q(email__icontains=text) | Q(external_id__iexact=text)
        names = Q()
        for part in text.split():
            names &= Q(first_name__icontains=part) | Q(last_name__icontains=part)
        query = query.filter(match | names)
    return render(request, "panel/customers.html", {"q": text, "page": paginate(request, query)})


@staff_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    return render(
        request,
        "panel/customer.html",
        {
            "customer": customer,
            "orders": customer.orders.order_by("-created_at")[:100],
            "mails": Message.objects.filter(to_email__iexact=customer.email).order_by("-created_at", "-id")[
                :100
            ],
            "can_invite": inviter() is not None and bool(customer.email),
            "invited": Message.objects.filter(to_email__iexact=customer.email, notification="account_invite")
            .order_by("-created_at")
            .first(),
        },
    )


@staff_required
@require_POST
def customer_invite(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    invite = inviter()
    if invite is None or not customer.email:
        messages.error(request, _("My page invitations are not available."))
        return redirect("panel:customer", customer.pk)
    message = invite(customer)
    if message is None:
        messages.warning(request, _("No invitation was sent: the account_invite e-mail is switched off."))
    else:
        messages.success(
            request,
            _("Invitation to My page queued for %(email)s (message %(pk)s).")
            % {"email": customer.email, "pk": message.pk},
        )
    return redirect("panel:customer", customer.pk)


# ---------------------------------------------------------------------------- API keys


@staff_required
def api_keys(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"form": ApiKeyForm()}
    status = 200
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data.get("expires_in_days")
            key, plain = keys.create(
                form.cleaned_data["name"].strip(),
                owner=request.user,  # the key dies with its owner's account (issue 19)
                scopes=form.cleaned_data.get("scopes") or (),
                expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
            )
            context.update(created=key, plain=plain)  # shown on this response only, never again
        else:
            context["form"], status = form, 422
    context["keys"] = ApiKey.objects.select_related("owner").order_by("revoked_at", "-created_at")
    return render(request, "panel/api_keys.html", context, status=status)


@staff_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    if key.revoked_at is None:
        keys.revoke(key)
        messages.success(
            request,
            _("API key “%(name)s” (%(prefix)s) is revoked; it stops working now.")
            % {"name": key.name, "prefix": key.prefix},
        )
    return redirect("panel:api_keys")


# ---------------------------------------------------------------------------- staff users


@superuser_required
def staff_list(request: HttpRequest) -> HttpResponse:
    User = get_user_model()
    form = StaffForm()
    status = 200
    if request.method == "POST":
        form = StaffForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"].strip().lower()
            if User.objects.filter(username=email).exists():
                form.add_error("email", _("There is already a user with this address."))
            else:
                user = User(username=email, email=email, is_staff=True)
                user.is_superuser = form.cleaned_data["is_superuser"]
                try:
                    password_validation.validate_password(form.cleaned_data["password1"], user)
                except ValidationError as exc:
                    form.add_error("password1", exc)
                else:
                    user.set_password(form.cleaned_data["password1"])
                    user.save()
                    messages.success(
                        request, _("Staff user %(email)s added; they can sign in now.") % {"email": email}
                    )
                    return redirect("panel:staff")
        status = 422
    users = User.objects.filter(Q(is_staff=True) | Q(is_superuser=True)).order_by("-is_active", "username")
    return render(request, "panel/staff.html", {"form": form, "users": users}, status=status)


@superuser_required
@require_POST
def staff_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    active = request.POST.get("active") == "1"
    if user.pk == request.user.pk and not active:
        messages.error(request, _("You cannot deactivate your own account."))
        return redirect("panel:staff")
    user.is_active = active
    user.save(update_fields=["is_active"])
    if active:
        done = _("%(user)s is reactivated.")
    else:
        done = _("%(user)s is deactivated; they are signed out and cannot sign in.")
    messages.success(request, done % {"user": user.get_username()})
    return redirect("panel:staff")
