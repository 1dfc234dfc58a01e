"""Issue 27: a newsletter's delivery page updates by short polling of a small JSON endpoint."""

from __future__ import annotations

import datetime as dt

import pytest
from newsletter_support import customer

from shopmail.mail.models import Message, Status
from shopmail.newsletter.models import Newsletter

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_letter(staff, store):
    for n in range(1, 5):
        customer(n)
    staff.post(
        "/admin/newsletters/new/", {"subject": "Winter news", "html": "<p>Hi</p>", "generate_text": "on"}
    )
    letter = Newsletter.objects.get()
    assert (
        staff.post(f"/admin/newsletters/{letter.pk}/send/", {"when": "now", "confirm": "on"}).status_code
        == 302
    )
    return letter


def test_progress_json_counts_rate_and_time_left(staff, sent_letter):
    url = f"/admin/newsletters/{sent_letter.pk}/progress.json"
    first = staff.get(url)
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    data = first.json()
    assert data["total"] == 4 and data["counts"]["queued"] == 4 and data["finished"] == 0
    assert (
        data["done"] is False and data["fields"]["rate"] == "—" and data["fields"]["eta"] == "not known yet"
    )
    mail = list(Message.objects.filter(newsletter_recipient__newsletter=sent_letter).order_by("pk"))
    now = dt.datetime.now(dt.UTC)
    Message.objects.filter(pk__in=[m.pk for m in mail[:2]]).update(status=Status.SENT, sent_at=now)
    Message.objects.filter(pk=mail[2].pk).update(status=Status.DEFERRED)
    data = staff.get(url).json()
    assert data["fields"]["sent"] == 2 and data["fields"]["deferred"] == 1 and data["fields"]["queued"] == 1
    assert data["finished"] == 2 and data["fields"]["percent"] == "50 %"
    # 2 in the last 5 minutes: 0.4 a minute, so the 2 left take about 5 minutes
    assert data["rate_per_minute"] == 0.4 and data["eta_seconds"] == 300
    assert data["fields"]["eta"] == "about 5 min"
    Message.objects.filter(pk__in=[m.pk for m in mail[2:]]).update(status=Status.SENT, sent_at=now)
    data = staff.get(url).json()
    assert data["done"] is True and data["phase"] == "sent" and data["fields"]["eta"] == "done"


def test_detail_page_polls_until_sent(staff, sent_letter):
    page = staff.get(f"/admin/newsletters/{sent_letter.pk}/").content.decode()
    assert f'data-progress-url="/admin/newsletters/{sent_letter.pk}/progress.json"' in page
    assert "panel/progress.js" in page and '<progress id="delivery-progress"' in page
    assert 'data-field="sent" id="count-sent">0<' in page
    Message.objects.filter(newsletter_recipient__newsletter=sent_letter).update(
        status=Status.SENT, sent_at=dt.datetime.now(dt.UTC)
    )
    page = staff.get(f"/admin/newsletters/{sent_letter.pk}/").content.decode()
    assert "data-progress-url" not in page and "progress.js" not in page  # nothing left to watch


def test_progress_is_for_staff_only(client, sent_letter):
    client.logout()
    response = client.get(f"/admin/newsletters/{sent_letter.pk}/progress.json")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
