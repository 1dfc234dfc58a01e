"""The control panel's "Shop connectors" page: each connector's webhook address and pull state,
and a "Get website data now" button that starts a pull (as ``shopmail pull``) in the background
(``pull_jobs``): the page follows it live and then shows its summary or the shop's answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from shopmail.connectors import config, pull, pull_jobs
from shopmail.connectors.models import Connector, WebhookCount
from shopmail.core.staff import staff_required

NAMES = pull_jobs.NAMES


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


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, "connectors/connectors.html", {**context, "rows": _rows(request)}, status=status)


@staff_required
def connectors_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    platform = str(request.POST.get("platform", ""))
    if platform not in pull.PLATFORMS:
        return _page(request, 422, error=_("Choose Shopify or WooCommerce."))
    job = pull_jobs.PullJob(platform, actor=request.user.get_username()).start()
    return redirect("connectors_job", job=job)


def _job(job: str) -> dict[str, Any]:
    state = pull_jobs.read(job)
    if state is None:
        raise Http404("no such pull")
    return state


@staff_required
def pull_job(request: HttpRequest, job: str) -> HttpResponse:
    """A pull's page: its progress while it runs (polled), then its summary or what went wrong."""
    state = _job(job)
    context: dict[str, Any] = {"job": state, "progress": pull_jobs.progress(state)}
    if state["state"] == "done":
        context.update(summary=state["summary"], pulled=state["name"])
        return _page(request, **context)
    if state["state"] in ("failed", "stopped"):
        return _page(request, 502, error=state.get("error", _("The pull failed.")), **context)
    return _page(request, **context)


@staff_required
def pull_job_json(request: HttpRequest, job: str) -> JsonResponse:
    return JsonResponse(pull_jobs.progress(_job(job)))


urlpatterns = [
    path("", connectors_page, name="connectors"),
    path("jobs/<str:job>/", pull_job, name="connectors_job"),
    path("jobs/<str:job>/progress.json", pull_job_json, name="connectors_job_json"),
]
