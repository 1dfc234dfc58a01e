"""Orders: search, and one order with its snapshot, change history (what each change sent, or
why not), every e-mail about it, resend with a custom message and "send notification…"."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shopmail.domain import changes
from shopmail.dropship.models import DropShipper
from shopmail.mail import actions, compose, outbox, rendering
from shopmail.mail.actions import ORDER_NOTIFICATIONS
from shopmail.mail.models import Message, Payload
from shopmail.panel.access import staff_required
from shopmail.panel.forms import CustomMessageForm, NotifyForm
from shopmail.panel.names import notification_name
from shopmail.store.models import Order, StoreSettings
from shopmail.support import backorder

PER_PAGE = 50

OUTCOMES = {
    "already_sent": gettext_lazy("Nothing sent: this e-mail was sent before."),
    "already_told": gettext_lazy("Nothing sent: the customer was already told."),
    "rule_off": gettext_lazy("Nothing sent: this order-update rule is switched off."),
    "notification_off": gettext_lazy("Nothing sent: the notification is switched off."),
    "silent": gettext_lazy("Nothing sent: a silent sync."),
    "notify_since": gettext_lazy(
        "Nothing sent: the order is older than the store's “send e-mail since” time."
    ),
    "superseded": gettext_lazy("Nothing sent: a later shipment in the same update got the e-mail."),
}


def describe_outcome(outcome: str) -> str:
    if outcome.startswith("queued:"):
        return _("E-mail %(key)s queued.") % {"key": outcome.partition(":")[2]}
    return str(OUTCOMES.get(outcome, outcome))


def paginate(request: HttpRequest, query: QuerySet[Any], per_page: int = PER_PAGE) -> Page:
    return Paginator(query, per_page).get_page(request.GET.get("page"))


def search_orders(text: str) -> QuerySet[Order]:
    """By order number or id, customer e-mail or id, or the customer's name (every word matches)."""
    query = Order.objects.select_related("customer").order_by("-created_at", "-id")
    text = text.strip()
    if not text:
        return query
    match = Q(number__iexact=text) | Q(external_id__iexact=text) | Q(number__istartswith=text)
    match |= Q(customer__email__icontains=text) | Q(customer__external_id__iexact=text)
    names = Q()
    for part in text.split():
        names &= Q(customer__first_name__icontains=part) | Q(customer__last_name__icontains=part)
    return query.filter(match | names)


@staff_required
def order_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")[:200]
    return render(request, "panel/orders.html", {"q": text, "page": paginate(request, search_orders(text))})


def _order_page(request: HttpRequest, order: Order, status: int = 200, **context: Any) -> HttpResponse:
    events = list(order.events.select_related("message", "run").order_by("at", "id"))
    history = [
        {
            "event": event,
            "by": event.run.actor if event.run is not None else "",
            "outcome": describe_outcome(event.outcome),
            "sent": event.outcome.startswith("queued:"),
        }
        for event in events
    ]
    mails = list(Message.objects.filter(order=order).order_by("-created_at", "-id"))
    snapshot = order.snapshot or {}
    context.setdefault(
        "notify_form",
        NotifyForm(initial={"notification": suggested_notification(order, StoreSettings.load())}),
    )
    context.update(
        order=order,
        snapshot=snapshot,
        snapshot_json=json.dumps(snapshot, indent=2, ensure_ascii=False, sort_keys=False),
        history=history,
        mails=mails,
        lines=snapshot.get("lines") or [],
        to_ship=changes.remaining(snapshot),  # the shipping wizard offers only what is left
        dropshipper_names=list(DropShipper.objects.order_by("name").values_list("name", flat=True)),
        meaning=StoreSettings.load().meaning()(snapshot.get("status")),
        shipments=snapshot.get("shipments") or [],
        totals=snapshot.get("totals") or {},
        customer_data=snapshot.get("customer") or {},
        resend_form=CustomMessageForm(),
        backorder_choice=backorder.LABELS.get(order.backorder_choice or "", order.backorder_choice),
    )
    return render(request, "panel/order.html", context, status=status)


@staff_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, get_object_or_404(Order.objects.select_related("customer"), pk=pk))


def suggested_notification(order: Order, settings: StoreSettings) -> str:
    """The notification that matches what the order means now ("Send notification…" starts on it)."""
    snapshot = order.snapshot or {}
    meaning = settings.meaning()(snapshot.get("status"))
    if meaning == "cancelled":
        key = "order_cancelled"
    elif meaning == "refunded":
        key = "order_refunded"
    elif meaning == "failed":
        key = "order_payment_failed"
    elif snapshot.get("shipments"):
        key = "order_partially_shipped" if changes.remaining(snapshot) else "order_shipped"
    elif meaning == "completed":
        key = "order_completed"
    elif meaning == "processing":
        key = "order_confirmed"
    elif meaning in ("pending", "on_hold"):
        key = "order_received"
    else:
        key = "order_updated"
    return key if key in ORDER_NOTIFICATIONS else "order_updated"


def _notify_preview(order: Order, notification: str, custom_message: str) -> dict[str, Any]:
    """The e-mail as it would be sent, for the confirmation step."""
    settings = StoreSettings.load()
    snapshot = order.snapshot or {}
    customer = snapshot.get("customer") or {}
    message = Message(notification=notification, to_email=customer.get("email") or "", pk=0)
    payload = Payload(
        language=outbox.language_for(customer, settings),
        context={
            "order_id": order.external_id,
            "order": snapshot,
            "changes": [],
            "shipment_id": (snapshot.get("shipments") or [{}])[-1].get("id"),
            "custom_message": custom_message,
        },
    )
    rendered = compose.render_message(message, payload, settings)[0]
    return {"to": message.to_email, "subject": rendered.subject, "text": rendered.text}


@staff_required
@require_POST
def order_notify(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=pk)
    form = NotifyForm(request.POST)
    if not form.is_valid():
        return _order_page(request, order, status=422, notify_form=form)
    if request.POST.get("confirm") != "1":  # first the preview, then the confirmed send
        try:
            preview = _notify_preview(
                order, form.cleaned_data["notification"], form.cleaned_data["custom_message"]
            )
        except rendering.TemplateRenderError as exc:
            form.add_error(None, _("The e-mail cannot be made: %(error)s") % {"error": exc})
            return _order_page(request, order, status=422, notify_form=form)
        return _order_page(request, order, notify_form=form, notify_preview=preview)
    try:
        message = actions.notify(
            order, form.cleaned_data["notification"], form.cleaned_data["custom_message"]
        )
    except actions.ActionError as exc:
        form.add_error(None, exc.msg)
        return _order_page(request, order, status=422, notify_form=form)
    messages.success(
        request,
        _("E-mail %(name)s to %(to)s queued as message %(pk)s.")
        % {"name": notification_name(message.notification), "to": message.to_email, "pk": message.pk},
    )
    return redirect("panel:order", order.pk)
