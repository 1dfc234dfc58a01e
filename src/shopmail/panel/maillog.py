"""The message log: every e-mail with filters; one message as sent (HTML in a sandboxed frame,
text, headers, attempts with the server's replies); retry, cancel and resend."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shopmail.mail import actions, shown
from shopmail.mail.models import Message, Payload, Status
from shopmail.panel.access import staff_required
from shopmail.panel.forms import CustomMessageForm, MessageFilterForm
from shopmail.panel.orders import paginate

RETRYABLE = (Status.FAILED, Status.HELD, Status.DEFERRED, Status.CANCELLED)
CANCELLABLE = (Status.QUEUED, Status.DEFERRED, Status.HELD)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@staff_required
def message_list(request: HttpRequest) -> HttpResponse:
    form = MessageFilterForm(request.GET or None)
    query = Message.objects.select_related("order").order_by("-created_at", "-id")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            query = query.filter(status=data["status"])
        if data["notification"]:
            query = query.filter(notification=data["notification"])
        if data["to"]:
            query = query.filter(to_email__icontains=data["to"].strip())
        if data["order"]:
            query = query.filter(order__external_id=data["order"].strip())
        if data["after"]:
            query = query.filter(created_at__gte=_day_start(data["after"]))
        if data["before"]:
            query = query.filter(created_at__lt=_day_start(data["before"] + dt.timedelta(days=1)))
    return render(request, "panel/messages.html", {"form": form, "page": paginate(request, query)})


@staff_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("order", "resend_of"), pk=pk)
    payload = Payload.objects.filter(pk=message.pk).first() or Payload(message=message)
    return render(
        request,
        "panel/message.html",
        {
            "message": message,
            "payload": payload,
            "content": shown.content(message, payload),
            "attempts": list(message.attempt_log.all()),
            "copies": list(Message.objects.filter(resend_of=message).order_by("created_at")),
            "custom_message": (payload.context or {}).get("custom_message") or "",
            "can_retry": message.status in RETRYABLE,
            "can_cancel": message.status in CANCELLABLE,
            "resend_form": CustomMessageForm(),
        },
    )


def _back(request: HttpRequest, message: Message) -> HttpResponse:
    if request.POST.get("back") == "dashboard":
        return redirect("panel:dashboard")
    if request.POST.get("back") == "order" and message.order_id:
        return redirect("panel:order", message.order_id)
    return redirect("panel:message", message.pk)


@staff_required
@require_POST
def message_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message, pk=pk)
    if actions.retry(message):
        messages.success(request, _("Message %(pk)s is queued again (same Message-ID).") % {"pk": message.pk})
    else:
        messages.error(
            request,
            _(
                "Message %(pk)s is %(status)s; only a failed, held, deferred or cancelled message"
                " can be retried."
            )
            % {"pk": message.pk, "status": message.status},
        )
    return _back(request, message)


@staff_required
@require_POST
def message_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message, pk=pk)
    if actions.cancel(message):
        messages.success(request, _("Message %(pk)s is cancelled; it will not be sent.") % {"pk": message.pk})
    else:
        messages.error(
            request,
            _("Message %(pk)s is %(status)s and can no longer be cancelled.")
            % {"pk": message.pk, "status": message.status},
        )
    return _back(request, message)


@staff_required
@require_POST
def message_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """A new copy, re-rendered from the original's data, with an optional custom message."""
    original = get_object_or_404(Message, pk=pk)
    form = CustomMessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back(request, original)
    try:
        copy = actions.resend(original, form.cleaned_data["custom_message"])
    except actions.ActionError as exc:
        messages.error(request, exc.msg)
        return _back(request, original)
    messages.success(
        request,
        _("A copy of message %(original)s was queued as message %(copy)s.")
        % {"original": original.pk, "copy": copy.pk},
    )
    if request.POST.get("back") == "order" and original.order_id:
        return redirect("panel:order", original.order_id)
    return redirect("panel:message", copy.pk)
