"""Issue 27: the panel's date fields in the store's format (dd.mm.yyyy for nb and de, ISO else)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shopmail.mail.models import Message
from shopmail.panel import dates
from shopmail.panel.order_actions import body_from_post
from shopmail.store.models import StoreSettings


def _language(code: str) -> None:
    settings = StoreSettings.load()
    settings.default_language = code
    settings.save()


def test_parse_in_the_store_format_and_iso(store):
    _language("de")
    assert dates.parse("06.12.2026") == dt.date(2026, 12, 6)
    assert dates.parse("2026-12-06") == dt.date(2026, 12, 6)
    assert dates.parse("12/06/2026") is None
    assert dates.to_iso("6.12.2026") == "2026-12-06" and dates.to_iso("soon") == "soon"
    _language("en")
    assert dates.parse("06.12.2026") is None and dates.store_format() == ("%Y-%m-%d", "yyyy-mm-dd")


def test_message_log_filter_reads_the_store_format(staff, placed):
    _language("nb")
    page = staff.get("/admin/messages/").content.decode()
    assert 'type="text"' in page and 'placeholder="dd.mm.yyyy"' in page and 'type="date"' not in page
    today = timezone.localdate()
    shown = staff.get("/admin/messages/", {"after": f"{today:%d.%m.%Y}"}).content.decode()
    assert shown.count(">#") >= Message.objects.count() == 2 and f'value="{today:%d.%m.%Y}"' in shown
    later_day = today + dt.timedelta(days=2)
    later = staff.get("/admin/messages/", {"after": f"{later_day:%d.%m.%Y}"}).content.decode()
    assert later.count(">#") == 0


def test_order_actions_send_iso_dates(staff, placed):
    _language("nb")
    page = staff.get(f"/admin/orders/{placed.pk}/").content.decode()
    assert 'id="exp-date" name="date" type="text" placeholder="dd.mm.yyyy"' in page
    body = body_from_post("expected_date", {"date": "24.12.2026"}, placed)
    assert body["date"] == "2026-12-24"
    body = body_from_post("ship", {"shipped_at": "01.12.2026", "carrier": "Posten"}, placed)
    assert body["shipment"]["shipped_at"] == "2026-12-01"
