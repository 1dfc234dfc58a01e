"""Issue 27 in Chromium against `shopmail serve`: a large sync upload is answered at once, its
page follows the background run by polling, and shows the result when it ends, no reload by
hand. Screenshot: docs/screenshots/sync-progress.png."""

from __future__ import annotations

import re

import orjson
import pytest
from test_browser import browser, panel, snap  # noqa: F401  (the fixtures: a signed-in panel page)

from factories import order
from shopmail.panel.sync_jobs import INLINE_BYTES
from shopmail.store.models import Order

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)


def test_large_sync_upload_is_watched_to_completion(panel, tmp_path):  # noqa: F811
    page = panel
    lines, size, n = [], 0, 0
    while size < INLINE_BYTES + 1024:  # just above the threshold: the run goes to the background
        n += 1
        line = orjson.dumps({"kind": "order", **order(str(5000 + n), status="processing")})
        lines.append(line)
        size += len(line) + 1
    big = tmp_path / "big.ndjson"
    big.write_bytes(b"\n".join(lines) + b"\n")
    page.goto("/admin/sync/")
    page.set_input_files("input[type=file]", str(big))
    page.get_by_role("button", name="Dry run").click()
    page.wait_for_url(re.compile(r"/admin/sync/jobs/[A-Za-z0-9_-]+/$"))
    heading = page.get_by_role("heading", name=re.compile(r"^Dry run of big\.ndjson: nothing was changed"))
    heading.wait_for(timeout=120_000)  # the page reloads itself when the run ends
    assert page.locator("#sync-job").count() == 0
    dry_run_url = page.url
    page.get_by_role("button", name="Apply this file").click()
    page.wait_for_url(lambda url: url != dry_run_url and "/admin/sync/jobs/" in url)
    snap(page, "sync-progress")
    page.get_by_role("heading", name="Applied: big.ndjson", exact=False).wait_for(timeout=120_000)
    assert Order.objects.count() == n
    assert f"E-mails queued: {2 * n}" in page.inner_text("#sync-result")
