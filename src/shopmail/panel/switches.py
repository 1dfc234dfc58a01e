"""Notifications: every e-mail with its on/off switch, and the order-update rules."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from shopmail.core.errors import Rejected
from shopmail.domain.changes import RULES
from shopmail.mail.notifications import NOTIFICATIONS, ORDER_UPDATE_RULES
from shopmail.panel.access import staff_required
from shopmail.store import store_settings
from shopmail.store.models import StoreSettings


@staff_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    settings = StoreSettings.load()
    if request.method == "POST":
        # an unticked checkbox is not sent: every key not in the form is switched off
        body = {
            "notifications": {key: f"n:{key}" in request.POST for key in NOTIFICATIONS},
            "rules": {rule: f"r:{rule}" in request.POST for rule in RULES},
        }
        try:
            store_settings.patch(body, settings)
        except Rejected as exc:  # pragma: no cover - the keys come from the registry itself
            messages.error(request, "; ".join(str(e["msg"]) for e in exc.errors))
        else:
            messages.success(request, gettext("Notification settings saved."))
        return redirect("panel:notifications")
    switches = settings.switches()
    rows = [
        {
            "key": key,
            "description": spec.description,
            "on": switches.notification_on(key),
            "audience": spec.audience,
        }
        for key, spec in NOTIFICATIONS.items()
    ]
    rules = [
        {"key": rule, "description": ORDER_UPDATE_RULES.get(rule, ""), "on": switches.rule_on(rule)}
        for rule in RULES
    ]
    return render(
        request,
        "panel/notifications.html",
        {
            "customer": [row for row in rows if row["audience"] == "customer"],
            "staff": [row for row in rows if row["audience"] == "staff"],
            "rules": rules,
            "order_updated_on": switches.notification_on("order_updated"),
            "store": settings,
        },
    )
