"""Order history and details, the signed order link, the back-order choice, return requests."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from shopmail.account import auth, language, present
from shopmail.account.forms import BackorderForm
from shopmail.account.models import CustomerAccount
from shopmail.account.pages import page
from shopmail.mail import links
from shopmail.store.models import Order
from shopmail.support import backorder, returns


def _own_order(account: CustomerAccount, pk: int) -> Order:
    """The signed-in customer's order; 404 for anyone else's."""
    return get_object_or_404(Order.objects.select_related("customer"), pk=pk, customer=account.customer)


@require_http_methods(["GET"])
@auth.customer_required
def orders(request: HttpRequest, account: CustomerAccount) -> HttpResponse:
    query = Order.objects.filter(customer=account.customer).order_by("-created_at", "-id")
    paginator = Paginator(query, 25)
    current = paginator.get_page(request.GET.get("page"))
    return page(
        request,
        "account/orders.html",
        {"page": current, "orders": [present.summary(order) for order in current], "section": "orders"},
    )


def _order_page(request: HttpRequest, order: Order, *, owner: bool, signed: bool) -> HttpResponse:
    context: dict[str, Any] = {
        "order": present.detail(order),
        "owner": owner,
        "signed": signed,
        "section": "orders",
        "backorder_form": BackorderForm(),
    }
    return page(request, "account/order.html", context)


@require_http_methods(["GET"])
@auth.customer_required
def order(request: HttpRequest, account: CustomerAccount, pk: int) -> HttpResponse:
    return _order_page(request, _own_order(account, pk), owner=True, signed=False)


@require_http_methods(["GET"])
def signed_order(request: HttpRequest, token: str) -> HttpResponse:
    """The link in e-mails: this one order, without signing in. A changed token opens nothing."""
    order_id = links.order_from_token(token)
    if order_id is None:
        raise Http404("This link is not valid.")
    found = get_object_or_404(Order.objects.select_related("customer"), external_id=order_id)
    language.use_customer(request, found.customer)
    account = auth.current_account(request)
    owner = account is not None and account.customer_id == found.customer_id
    return _order_page(request, found, owner=owner, signed=True)


@require_POST
@auth.customer_required
def order_backorder(request: HttpRequest, account: CustomerAccount, pk: int) -> HttpResponse:
    found = _own_order(account, pk)
    form = BackorderForm(request.POST)
    if form.is_valid():
        _order, stored = backorder.choose(found, form.cleaned_data["choice"], source="my_page")
        if stored:
            messages.success(request, _("Thank you, your choice is saved."))
        else:
            messages.info(request, _("A choice had already been made for this order."))
    return redirect("account:order", pk=found.pk)


@require_http_methods(["GET", "POST"])
def backorder_link(request: HttpRequest, token: str) -> HttpResponse:
    """The links in ``order_backorder_choice``: confirm the choice (a GET changes nothing, so
    a mail scanner that follows links cannot choose for the customer)."""
    decoded = links.backorder_from_token(token)
    if decoded is None:
        raise Http404("This link is not valid.")
    order_id, suggested = decoded
    found = get_object_or_404(Order.objects.select_related("customer"), external_id=order_id)
    language.use_customer(request, found.customer)
    form = BackorderForm(request.POST or None, initial={"choice": suggested})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            found, stored = backorder.choose(found, form.cleaned_data["choice"], source="link")
            if stored:
                messages.success(request, _("Thank you, your choice is saved."))
            return redirect("account:backorder", token=token)
        status = 400
    return page(
        request,
        "account/backorder.html",
        {
            "order": present.summary(found),
            "cancelled": found.is_cancelled(),
            "choice": backorder.label(found.backorder_choice),
            "choice_at": found.backorder_choice_at,
            "form": form,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@auth.customer_required
def return_request(request: HttpRequest, account: CustomerAccount, pk: int) -> HttpResponse:
    found = _own_order(account, pk)
    detail = present.detail(found)
    left = returns.returnable(found)
    rows = [
        {"index": index, "line": line, "max": left.get(line["id"], 0), "value": 0}
        for index, line in enumerate(detail["lines"])
    ]
    errors: list[str] = []
    reason = ""
    status = 200
    if request.method == "POST":
        reason = str(request.POST.get("reason") or "")
        wanted = []
        for row in rows:
            raw = str(request.POST.get(f"qty_{row['index']}") or "0").strip() or "0"
            try:
                row["value"] = int(raw)
            except ValueError:
                errors.append(f"{row['line']['name']}: enter a whole number.")
                continue
            if row["value"] < 0:
                errors.append(f"{row['line']['name']}: enter a number of at least 0.")
            elif row["value"] > 0:
                wanted.append({"line_id": row["line"]["id"], "quantity": row["value"]})
        if not errors:
            try:
                rma, _queued = returns.request(found, wanted, reason, source="my_page")
            except returns.ReturnRefused as exc:
                names = {line["id"]: line["name"] for line in detail["lines"]}
                for error in exc.errors:
                    loc = error["loc"]
                    prefix = ""
                    if loc[:1] == ["lines"] and len(loc) > 1:
                        prefix = f"{names.get(wanted[loc[1]]['line_id'], '')}: "
                    errors.append(prefix + str(error["msg"]).capitalize() + ".")
            else:
                messages.success(
                    request,
                    _("Your return request %(number)s has been sent. We will e-mail you our answer.")
                    % {"number": rma.number},
                )
                return redirect("account:order", pk=found.pk)
        status = 400
    return page(
        request,
        "account/return_form.html",
        {"order": detail, "rows": rows, "errors": errors, "reason": reason, "section": "orders"},
        status=status,
    )
