"""Contact details and settings: changes are saved and reported to the shop (customer.updated)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from shopmail.account import auth, customers
from shopmail.account.forms import ContactDetailsForm, SettingsForm
from shopmail.account.models import CustomerAccount
from shopmail.account.pages import page


@sensitive_post_parameters("current_password")
@require_http_methods(["GET", "POST"])
@auth.customer_required
def details(request: HttpRequest, account: CustomerAccount) -> HttpResponse:
    customer = account.customer
    initial = customers.customer_dict(customer)
    form = ContactDetailsForm(account, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = customers.update(customer, form.changes())
        if "email" in changed:  # the session is bound to the password, not the address: still valid
            account.customer.refresh_from_db()
        messages.success(
            request, _("Your contact details are saved.") if changed else _("Nothing was changed.")
        )
        return redirect("account:details")
    return page(
        request,
        "account/details.html",
        {"form": form, "section": "details"},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@auth.customer_required
def settings(request: HttpRequest, account: CustomerAccount) -> HttpResponse:
    customer = account.customer
    language = customer.language.split("-")[0].split("_")[0].lower() or "en"
    form = SettingsForm(
        request.POST or None,
        initial={"newsletter_opt_in": customer.newsletter_opt_in, "language": language},
    )
    if request.method == "POST" and form.is_valid():
        changed = customers.update(
            customer,
            {
                "newsletter_opt_in": form.cleaned_data["newsletter_opt_in"],
                "language": form.cleaned_data["language"],
            },
        )
        messages.success(request, _("Your settings are saved.") if changed else _("Nothing was changed."))
        return redirect("account:settings")
    customer.refresh_from_db()
    return page(
        request,
        "account/settings.html",
        {"form": form, "section": "settings", "opt_in_at": customer.newsletter_opt_in_at},
        status=400 if form.errors else 200,
    )
