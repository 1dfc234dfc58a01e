"""The customer's side of the help desk: their threads, a new question, replies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from shopmail.account import auth, throttle
from shopmail.account.forms import ReplyForm, ThreadForm
from shopmail.account.models import CustomerAccount
from shopmail.account.pages import page
from shopmail.store.models import Order
from shopmail.support import helpdesk as desk
from shopmail.support.models import Thread

TOO_MANY = _("You have sent many messages in a short time. Please wait a while before writing again.")


def _order_choices(account: CustomerAccount) -> list[tuple[str, str]]:
    orders = Order.objects.filter(customer=account.customer).order_by("-created_at")[:100]
    return [
        (str(order.pk), _("Order %(number)s") % {"number": order.number or order.external_id})
        for order in orders
    ]


@require_http_methods(["GET", "POST"])
@auth.customer_required
def threads(request: HttpRequest, account: CustomerAccount) -> HttpResponse:
    initial = {}
    if request.GET.get("order", "").isdigit():
        initial["order"] = request.GET["order"]
    form = ThreadForm(_order_choices(account), request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if not throttle.hit(throttle.HELPDESK_POSTS, f"customer:{account.customer_id}"):
                form.add_error(None, TOO_MANY)
                status = 429
            else:
                order = None
                if form.cleaned_data["order"]:
                    order = Order.objects.filter(
                        pk=form.cleaned_data["order"], customer=account.customer
                    ).first()
                thread, _post, _queued = desk.customer_post(
                    account.customer,
                    form.cleaned_data["message"],
                    subject=form.cleaned_data["subject"],
                    order=order,
                )
                messages.success(request, _("Your message has been sent. We will answer here and by e-mail."))
                return redirect("account:thread", pk=thread.pk)
        else:
            status = 400
    items = Thread.objects.filter(customer=account.customer).select_related("order")
    return page(
        request,
        "account/helpdesk.html",
        {"threads": items, "form": form, "section": "helpdesk"},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@auth.customer_required
def thread(request: HttpRequest, account: CustomerAccount, pk: int) -> HttpResponse:
    found = get_object_or_404(Thread.objects.select_related("order"), pk=pk, customer=account.customer)
    form = ReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if not throttle.hit(throttle.HELPDESK_POSTS, f"customer:{account.customer_id}"):
                form.add_error(None, TOO_MANY)
                status = 429
            else:
                desk.customer_post(account.customer, form.cleaned_data["message"], thread=found)
                messages.success(request, _("Your reply has been sent."))
                return redirect("account:thread", pk=found.pk)
        else:
            status = 400
    return page(
        request,
        "account/thread.html",
        {"thread": found, "posts": found.messages.all(), "form": form, "section": "helpdesk"},
        status=status,
    )
