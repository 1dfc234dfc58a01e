""" "Get website data now" in the background (issue 27): the button is answered at once and the
page follows the pull by polling — pages fetched (of the total when the shop says it), orders
checked, then applied — and shows its summary or the shop's answer when it ends.

The pull itself is ``pull.pull`` (the one ``shopmail pull`` and the schedule run); its own claim
on the connector refuses a second pull of the same shop while one is under way. A pull cut off
with its server applied nothing (all pages are fetched before its one transaction) and its
claim lapses after ``pull.CLAIM_FOR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from shopmail.connectors import pull
from shopmail.connectors.client import PullError
from shopmail.core import jobs

RUNNING = ("queued", "fetching", "checking", "applying")
KEEP_SECONDS = 24 * 3600
STOPPED = "The pull stopped before it finished (the server was restarted?). Nothing of it was applied."
NAMES = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
PHASES = {
    "queued": gettext_lazy("Waiting to start"),
    "fetching": gettext_lazy("Fetching pages from the shop"),
    "checking": gettext_lazy("Checking orders"),
    "applying": gettext_lazy("Applying (all or nothing)"),
    "done": gettext_lazy("Done"),
    "failed": gettext_lazy("Failed"),
    "stopped": gettext_lazy("Stopped"),
}


def directory() -> Path:
    path = Path(settings.DATA_DIR) / "pulls"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def read(job: str) -> dict[str, Any] | None:
    return jobs.read(directory(), job, RUNNING, STOPPED)


def progress(state: dict[str, Any]) -> dict[str, Any]:
    """What the page shows and polls: the phase, pages and orders so far, and the bar."""
    pages, pages_total = int(state.get("pages") or 0), state.get("pages_total")
    orders, checked = int(state.get("orders") or 0), int(state.get("checked") or 0)
    if state["state"] == "fetching":
        total, finished = int(pages_total or 0), pages
    else:
        total, finished = orders, min(checked, orders)
    fields = {
        "pages": gettext("%(done)s of %(total)s") % {"done": pages, "total": pages_total}
        if pages_total
        else str(pages),
        "orders": (
            gettext("%(done)s of %(total)s") % {"done": min(checked, orders), "total": orders}
            if orders
            else str(state.get("fetched") or 0)
        ),
    }
    return jobs.polled(state, RUNNING, PHASES, total=total, finished=finished, fields=fields)


class PullJob(jobs.BackgroundJob):
    """One pull of one shop, run in a thread of the web process."""

    thread_prefix = "pull"

    def __init__(self, platform: str, actor: str) -> None:
        jobs.remove_older_than(directory(), KEEP_SECONDS)
        super().__init__(
            directory(), platform=platform, name=NAMES[platform], actor=actor, pages=0, fetched=0, checked=0
        )

    def _pages_total(self, total: int | None) -> None:
        self.save(pages_total=total)

    def _page_done(self, items: int) -> None:
        self.save(state="fetching", pages=self.state["pages"] + 1, fetched=self.state["fetched"] + items)

    def _orders_total(self, total: int) -> None:
        self.save(state="checking" if total else "applying", orders=total)

    def _orders_done(self, count: int) -> None:
        checked = self.state["checked"] + count
        self.save(checked=checked, state="applying" if checked >= self.state.get("orders", 0) else "checking")

    def failure_text(self, exc: Exception) -> str:
        return f"{self.state['name']}: the pull failed ({type(exc).__name__}). Nothing was applied."

    def work(self) -> None:
        self.save(state="fetching")
        hooks = pull.Progress(
            pages_total=self._pages_total,
            page_done=self._page_done,
            orders_total=self._orders_total,
            orders_done=self._orders_done,
        )
        try:
            summary = pull.pull(self.state["platform"], progress=hooks)
        except PullError as exc:
            self.save(state="failed", error=f"{self.state['name']}: {exc}. Nothing was applied.")
        else:
            self.save(state="done", summary=summary.as_json())
