"""Deliverability in the panel (SPEC section 9): the DKIM record to publish and its DNS check, and
the suppression list (search, reason, date, remove)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shopmail.mail import signing
from shopmail.mail.deliverability import dns, suppression
from shopmail.mail.deliverability.models import Suppression
from shopmail.panel.access import staff_required
from shopmail.panel.orders import paginate
from shopmail.store.models import StoreSettings


@staff_required
def deliverability_page(request: HttpRequest) -> HttpResponse:
    settings = StoreSettings.load()
    text = request.GET.get("q", "").strip()[:200]
    rows = Suppression.objects.order_by("-created_at", "-pk")
    if text:
        rows = rows.filter(email__icontains=text.lower())
    findings = dns.check(settings) if request.GET.get("check") == "1" else None
    return render(
        request,
        "panel/deliverability.html",
        {
            "dkim": signing.public_json(settings),
            "bounce_domain": (settings.bounces or {}).get("domain", ""),
            "findings": findings,
            "q": text,
            "page": paginate(request, rows),
        },
    )


@staff_required
@require_POST
def suppression_remove(request: HttpRequest) -> HttpResponse:
    email = request.POST.get("email", "")[:254]
    if suppression.remove(email):
        messages.success(
            request,
            _("%(email)s will be mailed again. Held messages to it can be retried in the message log.")
            % {"email": email},
        )
    else:
        messages.error(request, _("%(email)s is not on the suppression list.") % {"email": email})
    return redirect("panel:deliverability")
