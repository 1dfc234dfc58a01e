"""The public contact form at /contact/ (CSRF, a per-IP rate limit and a honeypot field)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from shopmail.account import throttle
from shopmail.account.auth import current_account
from shopmail.account.pages import page
from shopmail.support import contact as contact_flow
from shopmail.support.forms import ContactForm

log = logging.getLogger("shopmail.support")


@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    account = current_account(request)
    initial = {}
    if account is not None:
        initial = {"name": account.customer.full_name, "email": account.customer.email}
    form = ContactForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if form.cleaned_data["website"]:
                log.info("contact form: honeypot filled, message dropped")
                return redirect("support:contact_sent")  # a bot is told it worked
            if not throttle.hit(throttle.CONTACT_POSTS_IP, throttle.client_ip(request)):
                form.add_error(
                    None, _("You have sent several messages in a short time. Please try again later.")
                )
                status = 429
            else:
                data = form.cleaned_data
                contact_flow.submit(
                    name=data["name"],
                    email=data["email"],
                    subject=data["subject"],
                    body=data["message"],
                    order_ref=data["order"],
                    customer=account.customer if account is not None else None,
                    source="form",
                )
                return redirect("support:contact_sent")
        else:
            status = 400
    return page(request, "support/contact.html", {"form": form, "section": "contact"}, status=status)


def contact_sent(request: HttpRequest) -> HttpResponse:
    return page(request, "support/contact_sent.html", {"section": "contact"})
