"""Pull ("Get Website Data", SPEC section 8): the orders changed since the connector's cursor,
fetched page by page from the shop's REST API and synced in one ingest run.

Every page is fetched before anything is applied, so a pull that stops (a page that keeps
failing, wrong credentials) changes nothing and leaves the cursor where it was. The run and the
new cursor are written in one transaction. The cursor is the newest ``updated_at`` the shop sent
(the shop's clock, not ours), less a second, so an order changed in the same second is not
missed; orders fetched twice are recognised unchanged by their content.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shopmail.connectors import client as api
from shopmail.connectors import shopify, woocommerce
from shopmail.connectors.client import PullError
from shopmail.connectors.config import secret
from shopmail.connectors.models import Connector
from shopmail.flows import ingest
from shopmail.store.models import StoreSettings

log = logging.getLogger(__name__)
PLATFORMS = ("shopify", "woocommerce")
CLAIM_FOR = dt.timedelta(minutes=30)  # a pull not finished by then is taken to have died


@dataclass
class Progress:
    """Callbacks for a progress display: pages fetched (with the total when the shop says it),
    then orders checked by ingest."""

    pages_total: Callable[[int | None], None] = lambda total: None
    page_done: Callable[[int], None] = lambda items: None
    orders_total: Callable[[int], None] = lambda total: None
    orders_done: Callable[[int], None] = lambda count: None


@dataclass
class PullSummary:
    platform: str
    since: str
    pages: int = 0
    fetched: int = 0
    cursor: str | None = None
    dry_run: bool = False
    run: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "since": self.since,
            "pages": self.pages,
            "orders_fetched": self.fetched,
            "cursor": self.cursor,
            "dry_run": self.dry_run,
            "counts": self.run.get("counts", {}),
            "messages": len(self.run.get("messages", [])),
            "rejected": self.run.get("rejected", [])[:20],
        }


def _claim(platform: str, now: dt.datetime) -> bool:
    """Only one pull per connector at a time, across processes (a conditional UPDATE)."""
    Connector.load(platform)
    free = Q(pull_started_at__isnull=True) | Q(pull_started_at__lt=now - CLAIM_FOR)
    return Connector.objects.filter(free, platform=platform).update(pull_started_at=now) == 1


def _fetch(
    connector: Connector, since: dt.datetime, http: httpx.Client, progress: Progress, retry: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Every changed order mapped to a snapshot, and the number of pages asked for."""
    pages = 0
    if connector.platform == "woocommerce":
        url = connector.setting("url")
        key, key_secret = connector.setting("consumer_key") or "", secret(connector, "consumer_secret")
        if not (url and key and key_secret):
            raise PullError("set connectors.woocommerce url, consumer_key and consumer_secret first")
        woo = api.WooCommerce(url, key, key_secret, http, **retry)
        raw: list[dict[str, Any]] = []
        for page in woo.order_pages(since):
            if page.number == 1:
                progress.pages_total(page.total_pages)
            raw += page.items
            pages += 1
            progress.page_done(len(page.items))
        downloads: list[dict[str, Any]] = []
        for customer_id in sorted({str(o.get("customer_id")) for o in raw if o.get("customer_id")}):
            downloads += woo.downloads(customer_id)
        return [woocommerce.order(o, downloads) for o in raw], pages
    shop_url, token = connector.setting("shop_url"), secret(connector, "access_token")
    if not (shop_url and token):
        raise PullError("set connectors.shopify shop_url and access_token first")
    shop = api.Shopify(shop_url, token, http, **retry)
    snapshots = []
    for page in shop.order_pages(since):
        if page.number == 1:
            progress.pages_total(page.total_pages)
        snapshots += [shopify.order(o) for o in page.items]
        pages += 1
        progress.page_done(len(page.items))
    return snapshots, pages


def _next_cursor(snapshots: list[dict[str, Any]], since: dt.datetime) -> dt.datetime:
    newest = since
    for snapshot in snapshots:
        try:
            moment = dt.datetime.fromisoformat(str(snapshot.get("updated_at")))
        except ValueError:
            continue
        if moment.tzinfo is not None and moment - dt.timedelta(seconds=1) > newest:
            newest = moment - dt.timedelta(seconds=1)
    return newest


def pull(
    platform: str,
    *,
    since: dt.datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: dict[str, Any] | None = None,
) -> PullSummary:
    """One pull; raises PullError (nothing applied, cursor kept) when it cannot finish."""
    if platform not in PLATFORMS:
        raise PullError(f"unknown platform {platform!r}: shopify or woocommerce")
    progress = progress or Progress()
    now = timezone.now()
    if not _claim(platform, now):
        raise PullError(f"a {platform} pull is already under way")
    connector = Connector.load(platform)
    start = since or connector.cursor or StoreSettings.load().notify_since
    summary = PullSummary(platform=platform, since=start.isoformat(), dry_run=dry_run)
    error = ""
    try:
        with httpx.Client(timeout=30.0, transport=transport, follow_redirects=False) as http:
            snapshots, summary.pages = _fetch(connector, start, http, progress, retry or {})
        summary.fetched = len(snapshots)
        progress.orders_total(len(snapshots))
        cursor = _next_cursor(snapshots, start)
        with transaction.atomic():
            result = ingest.ingest(
                orders=snapshots,
                dry_run=dry_run,
                partial=True,
                source=f"{platform}-pull",
                listed=ingest.LISTED,
                progress=progress.orders_done,
            )
            summary.run = result.summary()
            if not dry_run:
                Connector.objects.filter(pk=connector.pk).update(cursor=cursor)
        summary.cursor = (cursor if not dry_run else connector.cursor or start).isoformat()
        return summary
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        raise
    finally:
        state: dict[str, Any] = {"pull_started_at": None}
        if not dry_run:
            state.update(last_pull_at=timezone.now(), last_error=error[:2000])
            if not error:
                state["last_summary"] = summary.as_json()
        Connector.objects.filter(pk=connector.pk).update(**state)
