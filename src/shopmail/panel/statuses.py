"""Order statuses (SPEC section 3): the store's platform, what each status means, and the
statuses of stored orders that nothing maps yet ("unmapped"), with the orders that carry them.
Saved through ``store_settings.patch``, exactly as ``PATCH /api/v1/settings`` saves them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy

from shopmail.core.errors import Rejected
from shopmail.domain import statuses
from shopmail.panel.access import staff_required
from shopmail.store import statuses as store_statuses
from shopmail.store import store_settings
from shopmail.store.models import Order, StoreSettings

PLATFORM_NAMES = {
    "generic": gettext_lazy("Generic (pending, processing, invoiced, shipped, completed, …)"),
    "woocommerce": "WooCommerce",
    "shopify": "Shopify",
    "magento": "Magento / Adobe Commerce",
    "prestashop": "PrestaShop",
}


def _body(post: Any, settings: StoreSettings) -> dict[str, Any]:
    """The settings patch of the form: the platform, the time zone and every status row
    (``map:<status>`` = a meaning, or "" for "the platform's default" / "unmapped")."""
    body: dict[str, Any] = {"platform": post.get("platform", settings.platform)}
    if post.get("time_zone"):
        body["time_zone"] = post["time_zone"].strip()
    own: dict[str, str | None] = {}
    for name, value in post.items():
        if name.startswith("map:"):
            own[name[4:]] = value or None
    new_status, new_meaning = (post.get("new_status") or "").strip(), post.get("new_meaning") or ""
    if new_status and new_meaning:
        own[new_status] = new_meaning
    body["status_map"] = own
    return body


@staff_required
def statuses_page(request: HttpRequest) -> HttpResponse:
    settings = StoreSettings.load()
    if request.method == "POST":
        try:
            store_settings.patch(_body(request.POST, settings), settings)
        except Rejected as exc:
            messages.error(
                request, "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors)
            )
        else:
            messages.success(request, gettext("Order statuses saved."))
        return redirect("panel:statuses")
    preset = statuses.preset(settings.platform)
    effective = store_statuses.effective_map(settings)
    rows = [
        {
            "status": status,
            "meaning": meaning,
            "own": status in settings.status_map,
            "default": preset.get(status),
        }
        for status, meaning in effective.items()
    ]
    unmapped = store_statuses.unmapped(settings)
    ids = [order_id for entry in unmapped for order_id in entry["orders"]]
    pks = dict(Order.objects.filter(external_id__in=ids).values_list("external_id", "pk"))
    for entry in unmapped:
        entry["links"] = [(order_id, pks.get(order_id)) for order_id in entry["orders"]]
    return render(
        request,
        "panel/statuses.html",
        {
            "store": settings,
            "platforms": [(key, PLATFORM_NAMES[key]) for key in statuses.PLATFORMS],
            "meanings": [(key, statuses.MEANING_TEXT[key]) for key in statuses.MEANINGS],
            "rows": rows,
            "unmapped": unmapped,
        },
    )
