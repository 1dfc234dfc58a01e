"""The control panel's "Shop connectors" page: each connector's webhook address and pull state,
and a "Get website data now" button that runs a pull (as ``shopmail pull``) and shows its
summary or the shop's answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from shopmail.connectors import config, pull
from shopmail.connectors.client import PullError
from shopmail.connectors.models import Connector, WebhookCount
from shopmail.core.staff import staff_required

NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce"}


def _can_pull(connector: Connector) -> bool:
    if connector.platform == "shopify":
        return bool(connector.setting("shop_url") and config.secret(connector, "access_token"))
    key, key_secret = connector.setting("consumer_key"), config.secret(connector, "consumer_secret")
    return bool(connector.setting("url") and key and key_secret)


def _rows(request: HttpRequest) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = {}
    for count in WebhookCount.objects.all():
        counts.setdefault(count.platform, {})[count.outcome] = count.count
    rows = []
    base = settings.CONFIG.base_url.rstrip("/")  # SHOPMAIL_BASE_URL, as in e-mail links
    for platform in pull.PLATFORMS:
        connector = Connector.load(platform)
        rows.append(
            {
                "platform": platform,
                "name": NAMES[platform],
                "hook_url": f"{base}/api/v1/hooks/{platform}",
                "secret_set": bool(config.secret(connector, "webhook_secret")),
                "can_pull": _can_pull(connector),
                "every": connector.setting("pull_every_minutes"),
                "connector": connector,
                "counts": sorted(counts.get(platform, {}).items()),
            }
        )
    return rows


@staff_required
def connectors_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        platform = str(request.POST.get("platform", ""))
        if platform not in pull.PLATFORMS:
            context["error"], status = _("Choose Shopify or WooCommerce."), 422
        else:
            try:
                context["summary"] = pull.pull(platform).as_json()
                context["pulled"] = NAMES[platform]
            except PullError as exc:
                context["error"], status = f"{NAMES[platform]}: {exc}. Nothing was applied.", 502
    return render(request, "connectors/connectors.html", {**context, "rows": _rows(request)}, status=status)


urlpatterns = [path("", connectors_page, name="connectors")]
