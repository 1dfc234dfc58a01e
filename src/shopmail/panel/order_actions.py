"""Running an order from the panel (SPEC section 7): confirm, cancel with a reason, the shipping
wizard and the expected delivery date. Each form first shows the e-mails the action will send
(a preview run that is rolled back); staff confirm, and ``flows.actions.run`` does it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shopmail.core.errors import Rejected
from shopmail.flows import actions
from shopmail.panel import dates
from shopmail.panel.access import staff_required
from shopmail.panel.names import notification_name
from shopmail.panel.orders import _order_page
from shopmail.store.models import Order

DONE = {
    "confirm": gettext_lazy("Order confirmed (payment received)."),
    "cancel": gettext_lazy("Order cancelled."),
    "ship": gettext_lazy("Shipment entered."),
    "expected_date": gettext_lazy("Expected delivery date set."),
}


def body_from_post(action: str, post: Any, order: Order) -> dict[str, Any]:
    """The API body of an action from the panel's form fields."""
    body: dict[str, Any] = {"action": action}
    if action == "cancel":
        body["reason"] = post.get("reason", "")
    elif action == "ship":
        shipment: dict[str, Any] = {"lines": []}
        for line in order.snapshot.get("lines") or ():
            raw = (post.get(f"qty_{line['id']}") or "").strip()
            if not raw or raw == "0":
                continue
            try:
                quantity: Any = int(raw)
            except ValueError:
                quantity = raw  # named in the 422
            shipment["lines"].append({"line_id": line["id"], "quantity": quantity})
        for name in ("carrier", "tracking_number", "tracking_url", "shipped_at", "drop_shipper"):
            value = (post.get(name) or "").strip()
            if value:
                shipment[name] = dates.to_iso(value) if name == "shipped_at" else value
        body["shipment"] = shipment
    elif action == "expected_date":
        if post.get("line"):
            body["line"] = post["line"]
        typed = (post.get("date") or "").strip()
        body["date"] = dates.to_iso(typed) if typed else None
    return body


@staff_required
@require_POST
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in actions.ACTIONS:
        raise Http404("no such action")
    order = get_object_or_404(Order.objects.select_related("customer"), pk=pk)
    body = body_from_post(action, request.POST, order)
    confirmed = request.POST.get("confirm") == "1"
    version = request.POST.get("version")
    if confirmed and version and version != order.snapshot_hash:
        # a second click, or the shop (or a colleague) changed the order after the preview
        errors = [
            _("The order changed after the preview (a second click, or a newer version): nothing was done.")
        ]
        return _order_page(request, order, status=409, action_errors=errors, action_open=action)
    try:
        answer = actions.run(order.external_id, body, actions.actor_of(request.user), preview=not confirmed)
    except Rejected as exc:
        errors = [f"{' > '.join(str(p) for p in err['loc'][1:])}: {err['msg']}" for err in exc.errors]
        return _order_page(request, order, status=422, action_errors=errors, action_open=action)
    if not confirmed:
        hidden = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in ("csrfmiddlewaretoken", "confirm", "version")
            for value in values
        ]
        hidden.append(("version", order.snapshot_hash))  # confirm only what was previewed
        return _order_page(
            request,
            order,
            action_preview=answer,
            action_hidden=hidden,
            action_name=action,
            action_open=action,
        )
    sent = ", ".join(
        _("%(name)s to %(to)s") % {"name": notification_name(m["notification"]), "to": m["to"]}
        for m in answer["messages"]
    )
    messages.success(
        request, _("%(done)s Queued: %(sent)s.") % {"done": DONE[action], "sent": sent or _("no e-mail")}
    )
    return redirect("panel:order", order.pk)
