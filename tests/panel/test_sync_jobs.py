"""Issue 27: a large sync upload is answered at once and run in the background; its page polls
a small JSON of its progress (parsed, checked, applied, e-mails queued), then shows the result."""

from __future__ import annotations

import datetime as dt
import threading

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from factories import order
from shopmail.mail.models import Message
from shopmail.panel import sync, sync_jobs
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db(transaction=True)  # the run is another thread's connection


@pytest.fixture
def background(monkeypatch):
    """Every upload goes to the background (the real threshold is 256 KiB)."""
    monkeypatch.setattr(sync, "INLINE_BYTES", 0)


def ndjson(*items: dict) -> SimpleUploadedFile:
    return SimpleUploadedFile("orders.ndjson", b"\n".join(orjson.dumps(item) for item in items) + b"\n")


def _finish(job: str) -> None:
    for thread in threading.enumerate():
        if thread.name == f"sync-{job}":
            thread.join(timeout=120)


def test_dry_run_then_apply_in_the_background(staff, store, background):
    file = ndjson(*({"kind": "order", **order(str(n), status="processing")} for n in range(1, 4)))
    response = staff.post("/admin/sync/", {"file": file, "action": "dry_run"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/sync/jobs/")
    job = response["Location"].split("/")[-2]
    _finish(job)
    progress = staff.get(f"/admin/sync/jobs/{job}/progress.json").json()
    assert progress["done"] is True and progress["state"] == "done" and progress["finished"] == 3
    assert progress["fields"]["checked"] == "3 of 3" and progress["fields"]["queued"] == 0  # a dry run
    page = staff.get(response["Location"]).content.decode()
    assert "nothing was changed" in page and "<li>Order confirmation: 3</li>" in page
    assert "data-progress-url" not in page and Order.objects.count() == 0
    token = page.split('name="token" value="')[1].split('"')[0]
    applied = staff.post("/admin/sync/", {"token": token, "action": "apply", "filename": "orders.ndjson"})
    job = applied["Location"].split("/")[-2]
    _finish(job)
    assert (
        staff.get(f"/admin/sync/jobs/{job}/progress.json").json()["fields"]["queued"] == 6
    )  # confirmations and staff mail
    page = staff.get(applied["Location"]).content.decode()
    assert "Applied: orders.ndjson" in page and Order.objects.count() == 3
    assert Message.objects.filter(notification="order_confirmed").count() == 3


def test_a_rejected_file_fails_with_its_errors(staff, store, background):
    response = staff.post(
        "/admin/sync/", {"file": ndjson({"kind": "order", **order("1"), "status": ""}), "action": "apply"}
    )
    job = response["Location"].split("/")[-2]
    _finish(job)
    assert staff.get(f"/admin/sync/jobs/{job}/progress.json").json()["state"] == "failed"
    page = staff.get(response["Location"]).content.decode()
    assert "Nothing was applied" in page and "status" in page and Order.objects.count() == 0


def test_a_running_page_polls_and_a_silent_job_is_stopped(staff, store, settings):
    from pathlib import Path

    directory = Path(settings.DATA_DIR) / "panel-uploads"
    directory.mkdir(exist_ok=True)
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    state = {
        "id": "x" * 24,
        "state": "checking",
        "dry_run": False,
        "options": {},
        "filename": "big.ndjson",
        "total": 10,
        "checked": 4,
        "started_at": old,
        "beat_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    sync_jobs.write(directory, "x" * 24, state)
    page = staff.get(f"/admin/sync/jobs/{'x' * 24}/").content.decode()
    assert f'data-progress-url="/admin/sync/jobs/{"x" * 24}/progress.json"' in page and "4 of 10" in page
    assert 'value="4"' in page and "panel/progress.js" in page
    sync_jobs.write(directory, "x" * 24, {**state, "beat_at": old})  # its thread died with the server
    data = staff.get(f"/admin/sync/jobs/{'x' * 24}/progress.json").json()
    assert data["state"] == "stopped" and data["done"] is True
    assert "upload the file again" in staff.get(f"/admin/sync/jobs/{'x' * 24}/").content.decode()
    assert staff.get("/admin/sync/jobs/nonexistent-job-id-123456/").status_code == 404
    assert staff.get("/admin/sync/jobs/../progress.json").status_code == 404


def test_small_files_still_run_in_the_request(staff, store):
    response = staff.post(
        "/admin/sync/",
        {"file": ndjson({"kind": "order", **order("9", status="processing")}), "action": "apply"},
    )
    assert (
        response.status_code == 200 and "Applied" in response.content.decode() and Order.objects.count() == 1
    )


def test_old_job_states_are_removed_with_old_uploads(staff, store, settings):
    import os
    import time
    from pathlib import Path

    directory = Path(settings.DATA_DIR) / "panel-uploads"
    directory.mkdir(exist_ok=True)
    sync_jobs.write(directory, "y" * 24, {"id": "y" * 24, "state": "done"})
    old = time.time() - sync.KEEP_SECONDS - 60
    os.utime(sync_jobs.job_path(directory, "y" * 24), (old, old))
    sync_jobs.write(directory, "z" * 24, {"id": "z" * 24, "state": "done"})
    staff.post("/admin/sync/", {"file": ndjson({"kind": "order", **order("1")}), "action": "dry_run"})
    assert not sync_jobs.job_path(directory, "y" * 24).exists()
    assert sync_jobs.job_path(directory, "z" * 24).exists()
