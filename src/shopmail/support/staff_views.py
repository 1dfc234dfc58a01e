"""The control panel's returns and help-desk pages (staff only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shopmail.core.staff import staff_required
from shopmail.mail.models import Message
from shopmail.support import helpdesk, returns
from shopmail.support.forms import DecisionForm, StaffReplyForm
from shopmail.support.models import ReturnRequest, Thread

RETURN_FILTERS = ("requested", "approved", "denied", "all")
THREAD_FILTERS = ("waiting", "open", "closed", "all")
# the filters in words, in the panel's language
FILTER_NAMES = {
    "requested": gettext_lazy("Requested"),
    "approved": gettext_lazy("Approved"),
    "denied": gettext_lazy("Denied"),
    "waiting": gettext_lazy("Waiting"),
    "open": gettext_lazy("Open"),
    "closed": gettext_lazy("Closed"),
    "all": gettext_lazy("All"),
}


@require_http_methods(["GET"])
@staff_required
def return_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or "requested"
    if status not in RETURN_FILTERS:
        status = "requested"
    query = ReturnRequest.objects.select_related("order", "customer")
    if status != "all":
        query = query.filter(status=status)
    current = Paginator(query, 50).get_page(request.GET.get("page"))
    tabs = [
        (f, FILTER_NAMES[f], ReturnRequest.objects.filter(status=f).count() if f != "all" else None)
        for f in RETURN_FILTERS
    ]
    return render(request, "support/staff/returns.html", {"page": current, "status": status, "tabs": tabs})


@require_http_methods(["GET", "POST"])
@staff_required
def return_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rma = get_object_or_404(ReturnRequest.objects.select_related("order", "customer", "decided_by"), pk=pk)
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rma, message = returns.decide(
                    rma,
                    approve=form.cleaned_data["decision"] == "approve",
                    comment=form.cleaned_data["comment"],
                    user=request.user,
                )
            except returns.AlreadyDecided:
                messages.error(request, _("%(number)s had already been decided.") % {"number": rma.number})
            else:
                if rma.status == ReturnRequest.Status.APPROVED:
                    done = _("%(number)s approved.") % {"number": rma.number}
                else:
                    done = _("%(number)s denied.") % {"number": rma.number}
                tail = (
                    _("The customer is told by e-mail.")
                    if message
                    else _("No e-mail was sent (switched off).")
                )
                messages.success(request, f"{done} {tail}")
            return redirect("support_staff:return", pk=rma.pk)
        status = 400
    mails = Message.objects.filter(key__endswith=f":rma:{rma.pk}").order_by("created_at")
    return render(
        request,
        "support/staff/return.html",
        {"rma": rma, "form": form, "mails": mails, "left": returns.returnable(rma.order)},
        status=status,
    )


@require_http_methods(["GET"])
@staff_required
def thread_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show") or "waiting"
    if show not in THREAD_FILTERS:
        show = "waiting"
    query = Thread.objects.select_related("customer", "order")
    if show == "waiting":
        query = query.filter(status=Thread.Status.OPEN, awaiting_staff=True)
    elif show in ("open", "closed"):
        query = query.filter(status=show)
    current = Paginator(query, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "support/staff/threads.html",
        {"page": current, "show": show, "filters": [(f, FILTER_NAMES[f]) for f in THREAD_FILTERS]},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread = get_object_or_404(Thread.objects.select_related("customer", "order"), pk=pk)
    form = StaffReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            message = helpdesk.staff_reply(thread, form.cleaned_data["message"], user=request.user)[1]
            if message:
                messages.success(request, _("Reply sent. The customer is told by e-mail."))
            else:
                messages.success(request, _("Reply sent. No e-mail was sent (switched off)."))
            return redirect("support_staff:thread", pk=thread.pk)
        status = 400
    return render(
        request,
        "support/staff/thread.html",
        {"thread": thread, "posts": thread.messages.select_related("staff_user"), "form": form},
        status=status,
    )


@require_POST
@staff_required
def thread_status(request: HttpRequest, pk: int) -> HttpResponse:
    thread = get_object_or_404(Thread, pk=pk)
    new = request.POST.get("status")
    if new in (Thread.Status.OPEN, Thread.Status.CLOSED):
        helpdesk.set_status(thread, new)
        messages.success(
            request,
            _("The conversation is open.") if new == Thread.Status.OPEN else _("The conversation is closed."),
        )
    return redirect("support_staff:thread", pk=thread.pk)
