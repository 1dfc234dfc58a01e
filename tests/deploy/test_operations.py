"""Operations (issue 22): backup while serving and restore, retention of message bodies,
`shopmail check`, and a start-up banner that names only pages that answer."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from factories import order
from fixtures.delivery import Server, database_url, shopmail_process


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "shopmail.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "shopmail.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )


# -- backup and restore ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_while_serving_restores_to_a_working_service(server, api_key, tmp_path, settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        result = cli("backup", str(tmp_path / "copy.sqlite3"))
        assert result.returncode == 1
        assert "pg_dump" in result.stderr and not (tmp_path / "copy.sqlite3").exists()
        return

    live = server("--no-worker")
    for n in range(20):
        assert live.request("PUT", f"/orders/b{n}", api_key, order(f"b{n}"))[0] in (200, 201)

    stop, written = threading.Event(), []

    def keep_writing() -> None:  # the service takes orders all through the backup
        n = 0
        while not stop.is_set():
            status, _ = live.request("PUT", f"/orders/w{n}", api_key, order(f"w{n}"))
            written.append(status)
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 3:
            stop.wait(0.05)
        backup = tmp_path / "backups" / "shopmail.sqlite3"
        result = cli("backup", str(backup))
        while len(written) < 6:  # and goes on after it
            stop.wait(0.05)
    finally:
        stop.set()
        writer.join(timeout=120)
    assert result.returncode == 0, result.stderr
    assert "backup written to" in result.stdout
    assert set(written) <= {200, 201}
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {row[0] for row in copy.execute("SELECT external_id FROM store_order")}
    assert {f"b{n}" for n in range(20)} <= ids
    assert not Path(f"{backup}-wal").exists()

    # restore as docs/deploy/README.md says: the file (and the secret key) into an empty data dir
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    shutil.copy(backup, restored / "shopmail.sqlite3")
    shutil.copy(Path(settings.DATA_DIR) / "secret_key", restored / "secret_key")
    again = Server("--no-worker", env={"SHOPMAIL_DATA_DIR": str(restored), "DATABASE_URL": ""}).start()
    try:
        status, body = again.request("GET", "/orders/b7", api_key)
        assert status == 200 and body["order"] == "b7"
    finally:
        again.stop()


# -- retention ------------------------------------------------------------------------------------


def _message(key: str, status: str, days_ago: float):
    from shopmail.mail.models import Attempt, Message, Payload

    message = Message.objects.create(
        key=key,
        notification="order_shipped",
        to_email=f"{key}@example.com",
        status=status,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
        message_id=f"<{key}@shop.test>",
    )
    Payload.objects.create(
        message=message,
        context={"order": {"number": key}, "order_url": "https://shop.test/account/order/secret/"},
        subject=f"Your order {key} has shipped",
        text="Hello Ana, your order is on its way",
        html="<p>Hello Ana</p>",
        raw=b"Subject: x\r\n\r\nHello Ana\r\n",
    )
    Attempt.objects.create(message=message, outcome="sent", code=250, reply="2.0.0 queued as 4711")
    return message


@pytest.mark.django_db
def test_retention_drops_bodies_of_finished_messages_and_keeps_the_log(store):
    from shopmail.mail import actions, retention, shown
    from shopmail.mail.models import Attempt, Message, Payload, Status

    old_sent = _message("old-sent", Status.SENT, 91)
    old_failed = _message("old-failed", Status.FAILED, 200)
    old_deferred = _message("old-deferred", Status.DEFERRED, 120)  # may still go out
    recent = _message("recent", Status.SENT, 89)

    assert retention.prune(90, dry_run=True).messages == 2
    result = retention.prune(90)
    assert result.messages == 2

    for message in (old_sent, old_failed):
        payload = Payload.objects.get(pk=message.pk)
        assert (payload.text, payload.html, payload.raw) == ("", "", None)
        assert "secret" not in str(payload.context)
        assert payload.subject.startswith("Your order")  # the log still says what it was
        row = Message.objects.get(pk=message.pk)
        assert row.status == message.status and row.message_id == message.message_id
        assert Attempt.objects.get(message=row).reply == "2.0.0 queued as 4711"
        shown_now = shown.content(row, payload)  # the message log: the subject, no rendering of nothing
        assert shown_now["pruned"] and shown_now["subject"] == payload.subject and not shown_now.get("error")
    for message in (old_deferred, recent):
        payload = Payload.objects.get(pk=message.pk)
        assert payload.text.startswith("Hello") and bytes(payload.raw).endswith(b"Hello Ana\r\n")

    assert retention.prune(90).messages == 0  # nothing twice
    with pytest.raises(actions.ActionError, match="retention"):
        actions.resend(Message.objects.get(pk=old_sent.pk))


@pytest.mark.django_db
def test_retention_setting_default_off_and_bad_values(store, settings, monkeypatch):
    from shopmail.mail import retention
    from shopmail.mail.models import Status

    _message("old", Status.SENT, 400)
    monkeypatch.delenv("SHOPMAIL_RETENTION_DAYS", raising=False)
    assert retention.retention_days() == 90
    monkeypatch.setenv("SHOPMAIL_RETENTION_DAYS", "0")
    assert retention.prune().messages == 0
    monkeypatch.setenv("SHOPMAIL_RETENTION_DAYS", "ninety")
    with pytest.raises(ValueError, match="SHOPMAIL_RETENTION_DAYS"):
        retention.retention_days()
    monkeypatch.setenv("SHOPMAIL_RETENTION_DAYS", "365")
    call_command("prune")
    from shopmail.mail.models import Payload

    assert Payload.objects.get().raw is None


@pytest.mark.django_db
def test_the_worker_prunes_at_start_and_then_hourly(store, monkeypatch):
    from shopmail.core import periodic
    from shopmail.mail import retention
    from shopmail.mail.models import Payload, Status

    assert ("mail.retention", retention.periodic) in periodic._jobs  # registered by the mail app
    monkeypatch.setattr(retention, "_last_run", None)
    old = _message("old", Status.SENT, 100)
    assert retention.periodic(now=1000.0) is True
    assert Payload.objects.get(pk=old.pk).raw is None
    newer = _message("newer", Status.SENT, 100)
    assert retention.periodic(now=1000.0 + retention.EVERY - 1) is False  # not yet
    assert Payload.objects.get(pk=newer.pk).raw is not None
    assert retention.periodic(now=1000.0 + retention.EVERY) is True
    assert Payload.objects.get(pk=newer.pk).raw is None


# -- shopmail check -------------------------------------------------------------------------------


@pytest.fixture
def no_dns(monkeypatch):
    """The DKIM/SPF/DMARC part asks public DNS; its own tests cover it (mail/deliverability)."""
    from shopmail.cli.management.commands import deploy_check

    monkeypatch.setattr(
        deploy_check, "CHECKS", [c for c in deploy_check.CHECKS if c is not deploy_check.deliverability]
    )


@pytest.mark.django_db
def test_check_passes_a_safe_deployment(store, smtp_server, settings, monkeypatch, no_dns, capsys):
    monkeypatch.setenv("SHOPMAIL_BASE_URL", "https://mail.shop.test")
    settings.BASE_URL = "https://mail.shop.test"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SHOPMAIL_TRUSTED_PROXIES = ["127.0.0.1"]
    store.transport = {"kind": "smtp", "host": smtp_server.host, "port": smtp_server.port, "security": "none"}
    store.save()
    os.chmod(settings.DATA_DIR, 0o700)
    call_command("deploy_check")
    out = capsys.readouterr().out
    assert "ERROR" not in out and "no errors" in out
    assert f"SMTP server {smtp_server.host}:{smtp_server.port} answers" in out
    assert "base URL: https://mail.shop.test" in out


@pytest.mark.django_db
def test_check_names_each_unsafe_setting(store, settings, monkeypatch, no_dns, capsys):
    monkeypatch.setenv("SHOPMAIL_BASE_URL", "http://mail.shop.test")
    settings.BASE_URL = "http://mail.shop.test"
    settings.SHOPMAIL_TRUSTED_PROXIES = ["0.0.0.0/0"]
    settings.DEBUG = True
    store.transport = {"kind": "smtp", "host": "127.0.0.1", "port": 9, "security": "none"}  # nothing listens
    store.save()
    with pytest.raises(CommandError, match="not ready"):
        call_command("deploy_check")
    out = capsys.readouterr().out
    assert "ERROR    base URL: http://mail.shop.test is not https" in out
    assert "ERROR    trusted proxies: 0.0.0.0/0 trusts every address" in out
    assert "ERROR    debug:" in out
    assert "ERROR    transport: cannot reach 127.0.0.1:9" in out


@pytest.mark.django_db
def test_check_flags_captured_mail_and_clear_text_smtp(store, settings, capsys, no_dns):
    from shopmail.cli.management.commands import deploy_check

    store.transport = {"kind": "capture"}
    store.save()
    assert [f.level for f in deploy_check.transport()] == ["error"]
    store.transport = {"kind": "smtp", "host": "smtp.example.net", "port": 25, "security": "none"}
    store.save()
    findings = deploy_check.transport(connect=lambda host, port: None)
    assert ("TLS", "error") in {(f.topic, f.level) for f in findings}


def test_check_from_the_command_line_exits_1_on_an_error(tmp_path):
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "shopmail.cli", "check", "--quiet"],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k != "SHOPMAIL_BASE_URL"},
            "DJANGO_SETTINGS_MODULE": "shopmail.settings",
            "SHOPMAIL_DATA_DIR": str(data),
            "DATABASE_URL": "",
        },
        timeout=120,
    )
    assert result.returncode == 1
    assert "ERROR" in result.stdout and "migrations not applied" in result.stdout


# -- start-up banner ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_banner_names_api_docs_only_when_it_answers(store):
    from fixtures.delivery import free_port

    port = free_port()
    proc = shopmail_process(
        "serve",
        "--port",
        str(port),
        "--no-worker",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = []
        assert proc.stdout is not None
        for line in proc.stdout:
            banner.append(line)
            if line.lstrip().startswith("Next steps:"):
                break
        answers = None
        for _ in range(300):  # the banner comes just before waitress listens
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/docs", timeout=30) as response:
                    answers = response.status == 200
            except urllib.error.HTTPError:
                answers = False
            except OSError:
                threading.Event().wait(0.1)
                continue
            break
        assert answers is not None
        assert ("/api/docs" in "".join(banner)) == answers, "".join(banner)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
