"""Webhooks out in the panel (SPEC section 8): the subscribed URLs (secret write-only), and every
delivery with the answer it got and a "send again" button."""

from __future__ import annotations

import base64
import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shopmail.mail.webhooks import config, deliver
from shopmail.mail.webhooks.models import Delivery, Endpoint
from shopmail.panel.access import staff_required
from shopmail.panel.orders import paginate
from shopmail.store.feed import FEED_TYPES


def _page(request: HttpRequest, status: int = 200, errors: list[str] | None = None) -> HttpResponse:
    rows = Delivery.objects.select_related("endpoint").order_by("-created_at", "-pk")
    state = request.GET.get("status", "")
    if state in (Delivery.PENDING, Delivery.DELIVERED, Delivery.FAILED):
        rows = rows.filter(status=state)
    return render(
        request,
        "panel/webhooks.html",
        {
            "endpoints": config.all_public(),
            "feed_types": FEED_TYPES,
            "page": paginate(request, rows),
            "status": state,
            "errors": errors or [],
        },
        status=status,
    )


@staff_required
def webhooks_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _current() -> list[config.WebhookIn]:
    return [config.WebhookIn(url=e.url, events=list(e.events)) for e in Endpoint.objects.order_by("pk")]


@staff_required
@require_POST
def webhook_add(request: HttpRequest) -> HttpResponse:
    url = request.POST.get("url", "").strip()[:2000]
    secret = request.POST.get("secret", "").strip()[:500]
    events = [e for e in request.POST.getlist("events") if e][:50]
    made = ""
    if not secret and not Endpoint.objects.filter(url=url).exists():
        secret = made = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()  # shown once
    entries = [entry for entry in _current() if entry.url != url]
    entries.append(config.WebhookIn(url=url, secret=secret or None, events=events))
    problems = config.problems(entries, loc=("webhooks",))
    if problems:
        return _page(request, 422, [f"{err['loc'][-1]}: {err['msg']}" for err in problems])
    config.apply(entries)
    if events:
        saved = _("Webhook %(url)s saved: every subscribed event from now on.")
    else:
        saved = _("Webhook %(url)s saved: every event from now on.")
    messages.success(request, saved % {"url": url})
    if made:
        messages.warning(
            request,
            _("Its secret, shown this once (give it to your shop to verify signatures): %(secret)s")
            % {"secret": made},
        )
    return redirect("panel:webhooks")


@staff_required
@require_POST
def webhook_remove(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    config.apply([entry for entry in _current() if entry.url != endpoint.url])
    messages.success(request, _("Webhook %(url)s removed.") % {"url": endpoint.url})
    return redirect("panel:webhooks")


@staff_required
@require_POST
def delivery_send_again(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = deliver.send_again(get_object_or_404(Delivery.objects.select_related("endpoint"), pk=pk))
    if delivery.status == Delivery.DELIVERED:
        messages.success(
            request,
            _("Delivery %(id)s sent again: answered %(status)s.")
            % {"id": delivery.webhook_id, "status": delivery.response_status},
        )
    else:
        messages.error(
            request,
            _("Delivery %(id)s sent again: %(error)s; retried later.")
            % {"id": delivery.webhook_id, "error": delivery.last_error},
        )
    return redirect("panel:webhooks")
