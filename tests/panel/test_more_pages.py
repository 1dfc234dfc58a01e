"""Dashboard, sync upload, customers, API keys and staff users."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from factories import order
from shopmail.api import keys
from shopmail.api.models import ApiKey
from shopmail.mail.models import Message, Status
from shopmail.store.models import Customer, Order, SyncRun

pytestmark = pytest.mark.django_db


def upload(name: str, *items: dict) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\n".join(orjson.dumps(item) for item in items) + b"\n")


def test_dashboard_counts_chart_and_failures(staff, placed):
    now = timezone.now()
    confirmed = Message.objects.get(notification="order_confirmed")
    Message.objects.filter(pk=confirmed.pk).update(status=Status.SENT, sent_at=now)
    staff_mail = Message.objects.get(notification="admin_order_placed")
    Message.objects.filter(pk=staff_mail.pk).update(status=Status.FAILED, last_error="550 5.1.1 No such user")
    page = staff.get("/admin/").content.decode()
    # sent per day, then failures, queue per hour and p50 waits (issue 27): one first-series bar each
    assert '<svg class="chart"' in page and page.count('<rect class="bar" x=') == 30 + 30 + 24 + 30
    assert f"{now:%a %d %b}: 1 sent" in page
    assert "550 5.1.1 No such user" in page and f'action="/admin/messages/{staff_mail.pk}/retry/"' in page
    assert "Local capture" in page and "none running" in page
    response = staff.post(f"/admin/messages/{staff_mail.pk}/retry/", {"back": "dashboard"})
    assert response["Location"] == "/admin/"
    assert Message.objects.get(pk=staff_mail.pk).status == Status.QUEUED


def test_dashboard_shows_a_transport_error(staff, store):
    from shopmail.mail.models import WorkerBeat

    # a worker in another process wrote its heartbeat with the error (mail.worker.Worker._beat)
    WorkerBeat.objects.create(
        worker_id="mailhost:4242:abcdef",
        host="mailhost",
        pid=4242,
        config_error="535 5.7.8 Authentication credentials invalid",
        last_error="OperationalError: database is locked",
        sent=7,
    )
    page = staff.get("/admin/").content.decode()
    assert "Mail is not going out" in page and "535 5.7.8 Authentication credentials invalid" in page
    assert "mailhost:4242:abcdef" in page and "1 running" in page and "7 sent" in page
    assert "OperationalError: database is locked" in page


def test_chart_scale():
    from shopmail.panel import chart

    today = dt.date(2026, 11, 20)
    drawn = chart.daily(
        {today: 37, today - dt.timedelta(days=29): 3, today - dt.timedelta(days=40): 99}, today
    )
    assert len(drawn.bars) == 30 and drawn.total == 40 and drawn.maximum == 40
    assert drawn.bars[-1].height > drawn.bars[0].height > 0
    assert chart.daily({}, today).maximum == 4
    assert [value for _, value in chart.daily({today: 81}, today).ticks] == [0, 50, 100, 150, 200]


def test_sync_dry_run_then_apply(staff, store):
    file = upload("orders.ndjson", {"kind": "order", **order("1", status="processing")})
    response = staff.post("/admin/sync/", {"file": file, "action": "dry_run"})
    page = response.content.decode()
    assert response.status_code == 200 and "nothing was changed" in page
    assert "<li>Order confirmation: 1</li>" in page and "customer1@example.com" in page
    assert Order.objects.count() == 0 and Message.objects.count() == 0
    token = page.split('name="token" value="')[1].split('"')[0]
    response = staff.post("/admin/sync/", {"token": token, "action": "apply", "filename": "orders.ndjson"})
    page = response.content.decode()
    assert "Applied: orders.ndjson" in page and Order.objects.count() == 1
    assert Message.objects.filter(notification="order_confirmed").count() == 1
    run = SyncRun.objects.get(source="panel")
    assert f'href="/admin/sync/runs/{run.pk}/"' in page
    run_page = staff.get(f"/admin/sync/runs/{run.pk}/").content.decode()
    assert "queued:order_confirmed" in run_page
    again = staff.post("/admin/sync/", {"token": token, "action": "apply"})
    assert again.status_code == 422 and b"Upload the file again" in again.content


def test_sync_apply_directly_and_silently(staff, store):
    file = upload("o.json", {"orders": [order("5", status="processing")]})
    staff.post(
        "/admin/sync/", {"file": SimpleUploadedFile("o.json", file.read()), "action": "apply", "silent": "on"}
    )
    assert Order.objects.count() == 1 and Message.objects.count() == 0
    assert SyncRun.objects.get().silent is True


def test_sync_bad_files_change_nothing(staff, store):
    bad_json = SimpleUploadedFile("x.ndjson", b'{"kind": "order", "id": "1"}\n{"kind": oops}\n')
    response = staff.post("/admin/sync/", {"file": bad_json, "action": "apply"})
    assert response.status_code == 422 and b"line 2" in response.content
    invalid = upload("y.ndjson", {"kind": "order", **order("1"), "status": ""})
    response = staff.post("/admin/sync/", {"file": invalid, "action": "apply"})
    assert response.status_code == 422 and b"Nothing was applied" in response.content
    assert Order.objects.count() == 0 and SyncRun.objects.count() == 0
    response = staff.post("/admin/sync/", {"action": "apply"})
    assert response.status_code == 422 and b"Choose a sync file" in response.content


def test_customers(staff, placed):
    customer = Customer.objects.get()
    page = staff.get("/admin/customers/", {"q": "silva"}).content.decode()
    assert f'href="/admin/customers/{customer.pk}/"' in page
    assert "No customer matches" in staff.get("/admin/customers/", {"q": "zz"}).content.decode()
    page = staff.get(f"/admin/customers/{customer.pk}/").content.decode()
    assert f'href="/admin/orders/{placed.pk}/"' in page and "Order confirmation" in page


def test_invite_to_my_page(staff, placed):
    from shopmail.panel.people import inviter

    if inviter() is None:
        pytest.skip("My page (account.mailing.invite) is not installed")
    customer = Customer.objects.get()
    page = staff.get(f"/admin/customers/{customer.pk}/").content.decode()
    assert f'action="/admin/customers/{customer.pk}/invite/"' in page
    response = staff.post(f"/admin/customers/{customer.pk}/invite/")
    assert response.status_code == 302
    assert Message.objects.filter(notification="account_invite", to_email=customer.email).count() == 1


def test_api_key_is_shown_once_and_can_be_revoked(staff):
    response = staff.post("/admin/api-keys/", {"name": "webshop"})
    page = response.content.decode()
    plain = page.split('id="new-key">')[1].split("<")[0]
    key = keys.check(plain)
    assert key is not None and key.name == "webshop"
    assert "no-store" in response["Cache-Control"]
    listing = staff.get("/admin/api-keys/").content.decode()
    assert plain not in listing and f"sm_{key.prefix}_" in listing
    staff.post(f"/admin/api-keys/{key.pk}/revoke/")
    assert keys.check(plain) is None and ApiKey.objects.get().revoked_at is not None
    assert staff.post("/admin/api-keys/", {"name": ""}).status_code == 422


def test_staff_users(staff, staff_user):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    weak = staff.post("/admin/staff/", {"email": "new@shop.test", "password1": "short", "password2": "short"})
    assert weak.status_code == 422 and b"too short" in weak.content
    response = staff.post(
        "/admin/staff/",
        {"email": "New@Shop.test", "password1": "lantern-meadow-77", "password2": "lantern-meadow-77"},
    )
    assert response.status_code == 302
    new = User.objects.get(username="new@shop.test")
    assert new.is_staff and not new.is_superuser and new.email == "new@shop.test"
    again = staff.post(
        "/admin/staff/", {"email": "new@shop.test", "password1": "lantern-meadow-77", "password2": "x"}
    )
    assert again.status_code == 422
    staff.post(f"/admin/staff/{new.pk}/active/", {"active": "0"})
    assert User.objects.get(pk=new.pk).is_active is False
    staff.post(f"/admin/staff/{new.pk}/active/", {"active": "1"})
    assert User.objects.get(pk=new.pk).is_active is True
    page = staff.post(f"/admin/staff/{staff_user.pk}/active/", {"active": "0"}, follow=True).content.decode()
    assert "cannot deactivate your own account" in page and User.objects.get(pk=staff_user.pk).is_active
