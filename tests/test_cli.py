"""The `shopmail` command: help for every command, API keys, admins and the demo store."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from fixtures.delivery import database_url
from shopmail.cli import COMMANDS, USAGE, main


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "shopmail.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shopmail.settings", **env},
        timeout=120,
    )


def test_usage_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"  {command} " in out
    assert main(["nope"]) == 2


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.django_db(transaction=True)
def test_apikey_create_prints_a_working_key(client):
    result = run("apikey", "create", "--name", "shop", DATABASE_URL=database_url())
    key = result.stdout.strip()
    assert result.returncode == 0 and key.startswith("sm_")
    assert client.get("/api/v1/settings", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    listed = run("apikey", "list", DATABASE_URL=database_url()).stdout
    assert "shop" in listed and key not in listed


@pytest.mark.django_db
def test_createadmin_hashes_with_argon2_and_validates():
    from django.contrib.auth import get_user_model

    call_command("createadmin", "--email", "Boss@Shop.test", "--password", "a-long-secret-phrase")
    user = get_user_model().objects.get(username="boss@shop.test")
    assert user.is_staff and user.password.startswith("argon2")
    with pytest.raises(CommandError):
        call_command("createadmin", "--email", "x@shop.test", "--password", "short")
    with pytest.raises(CommandError):
        call_command("createadmin", "--email", "not an email", "--password", "a-long-secret-phrase")


@pytest.mark.django_db
def test_demo_fills_an_empty_store_once(capsys):
    from shopmail.mail.models import Message
    from shopmail.store.models import Customer, Order, Product

    call_command("demo")
    assert Customer.objects.count() == 12 and Product.objects.count() == 6 and Order.objects.count() == 12
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"pending", "processing", "completed", "cancelled", "invoiced"} <= statuses
    notifications = set(Message.objects.values_list("notification", flat=True))
    assert {
        "order_received",
        "order_confirmed",
        "order_shipped",
        "order_partially_shipped",
        "order_backorder_choice",
        "admin_order_placed",
        "order_updated",
    } <= notifications
    with pytest.raises(CommandError):
        call_command("demo")


def test_usage_mentions_environment():
    for name in ("SHOPMAIL_DATA_DIR", "DATABASE_URL", "SHOPMAIL_SMTP_URL", "SHOPMAIL_BASE_URL"):
        assert name in USAGE
