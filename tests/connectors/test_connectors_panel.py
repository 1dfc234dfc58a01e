"""The panel's "Shop connectors" page and its "Get website data now" button: the pull runs in
the background and the page follows it (issue 27)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fakeshop import WOO_KEY, WOO_SECRET, FakeShop
from payloads import load

from shopmail.connectors import config, pull_jobs
from shopmail.core import jobs
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db(transaction=True)  # the pull is another thread's connection


@pytest.fixture
def staff(client, store):
    from django.contrib.auth import get_user_model

    email = "boss@shop.test"
    user = get_user_model()(username=email, email=email, is_staff=True, is_superuser=True)
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    return client


def test_page_shows_webhook_addresses_and_needs_staff(client, staff):
    page = staff.get("/admin/connectors/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/api/v1/hooks/shopify" in text and "/api/v1/hooks/woocommerce" in text
    assert "no webhook secret set" in text
    assert ">Get website data now</button>" not in text  # no credentials yet
    staff.logout()
    assert staff.get("/admin/connectors/").status_code in (302, 403)


def _finish(job: str) -> None:
    for thread in threading.enumerate():
        if thread.name == f"pull-{job}":
            thread.join(timeout=120)


def _start(staff) -> tuple[str, str]:
    answer = staff.post("/admin/connectors/", {"platform": "woocommerce"})
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/connectors/jobs/")
    job = answer["Location"].split("/")[-2]
    _finish(job)
    return answer["Location"], job


def test_get_website_data_now_runs_in_the_background_and_shows_the_summary(staff, store):
    store.notify_since = store.notify_since.replace(year=2017)
    store.save()
    with FakeShop(load("woocommerce", "orders.json"), [], {}) as shop:
        config.configure("woocommerce", url=shop.url, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
        assert ">Get website data now</button>" in staff.get("/admin/connectors/").content.decode()
        location, job = _start(staff)
        progress = staff.get(f"/admin/connectors/jobs/{job}/progress.json").json()
        assert progress["done"] is True and progress["state"] == "done"
        assert progress["fields"]["pages"] == "2 of 2" and progress["fields"]["orders"] == "2 of 2"
        page = staff.get(location)
        assert page.status_code == 200 and "2 pages, 2 orders changed" in page.content.decode()
        assert "data-progress-url" not in page.content.decode()
        assert Order.objects.count() == 2
        config.configure("woocommerce", consumer_key="ck_wrong")
        location, job = _start(staff)
        assert staff.get(f"/admin/connectors/jobs/{job}/progress.json").json()["state"] == "failed"
        failed = staff.get(location)
        assert failed.status_code == 502
        assert "Consumer key is invalid." in failed.content.decode()
        assert "Nothing was applied" in failed.content.decode() and Order.objects.count() == 2


def test_a_running_pull_page_polls_and_a_pull_cut_off_says_stopped(staff, store):
    directory = pull_jobs.directory()
    now = dt.datetime.now(dt.UTC)
    state = {
        "id": "p" * 24,
        "state": "fetching",
        "platform": "shopify",
        "name": "Shopify",
        "pages": 3,
        "pages_total": 10,
        "fetched": 150,
        "checked": 0,
        "started_at": (now - dt.timedelta(minutes=5)).isoformat(),
        "beat_at": now.isoformat(),
    }
    jobs.write(directory, "p" * 24, state)
    page = staff.get(f"/admin/connectors/jobs/{'p' * 24}/").content.decode()
    assert f'data-progress-url="/admin/connectors/jobs/{"p" * 24}/progress.json"' in page
    assert "3 of 10" in page and 'value="3"' in page and "panel/progress.js" in page
    jobs.write(directory, "p" * 24, {**state, "state": "checking", "orders": 150, "checked": 40})
    data = staff.get(f"/admin/connectors/jobs/{'p' * 24}/progress.json").json()
    assert data["fields"]["orders"] == "40 of 150" and data["finished"] == 40 and data["total"] == 150
    stale = (now - dt.timedelta(minutes=5)).isoformat()
    jobs.write(directory, "p" * 24, {**state, "beat_at": stale})  # its thread died with the server
    data = staff.get(f"/admin/connectors/jobs/{'p' * 24}/progress.json").json()
    assert data["state"] == "stopped" and data["done"] is True
    assert "Nothing of it was applied" in staff.get(f"/admin/connectors/jobs/{'p' * 24}/").content.decode()
    assert staff.get("/admin/connectors/jobs/nonexistent-job-id-123456/").status_code == 404
    assert staff.get("/admin/connectors/jobs/../progress.json").status_code == 404
    staff.logout()
    assert staff.get(f"/admin/connectors/jobs/{'p' * 24}/progress.json").status_code in (302, 403)


def test_an_unknown_platform_is_refused_and_starts_nothing(staff, store):
    before = set(pull_jobs.directory().glob("*.job.json"))
    answer = staff.post("/admin/connectors/", {"platform": "magento"})
    assert answer.status_code == 422 and "Choose Shopify or WooCommerce." in answer.content.decode()
    assert set(pull_jobs.directory().glob("*.job.json")) == before
