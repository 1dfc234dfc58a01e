"""`shopmail transports` and `shopmail send-test` against the real test SMTP server."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db(transaction=True)


def test_send_test_prints_the_servers_reply(smtp_store, smtp_server, capsys):
    call_command("send_test", "--to", "owner@shop.test")
    out = capsys.readouterr().out
    assert out.startswith("sent: 250")
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("owner@shop.test",)
    assert "Test e-mail from Test Shop" in received.message["Subject"]


def test_send_test_reports_a_refusal(smtp_store, smtp_server):
    smtp_server.reject_recipient("nobody@shop.test")
    with pytest.raises(CommandError, match="not accepted"):
        call_command("send_test", "--to", "nobody@shop.test")


def test_send_test_refuses_a_bad_address(smtp_store):
    with pytest.raises(CommandError):
        call_command("send_test", "--to", "a@x.com, b@y.com")


def test_transports_lists_smtp_capabilities(smtp_store, smtp_server, capsys):
    call_command("transports")
    out = capsys.readouterr().out
    assert "smtp" in out and ("PIPELINING" in out or "SIZE" in out)
    assert "sendmail" in out and "localhost:25" in out


def test_smtp_url_seeds_the_transport_on_first_start(db, settings):
    import dataclasses

    from shopmail.store.models import StoreSettings

    settings.CONFIG = dataclasses.replace(  # pytest-django restores it after the test
        settings.CONFIG, smtp_url="smtp://shop:p%40ss@mail.example.com:2525?security=starttls"
    )
    StoreSettings.objects.all().delete()
    transport = StoreSettings.load().transport
    assert transport["kind"] == "smtp" and transport["host"] == "mail.example.com"
    assert transport["port"] == 2525 and transport["security"] == "starttls"
    from shopmail.core import secretbox

    assert transport["password"].startswith("sealed:") and secretbox.unseal(transport["password"]) == "p@ss"


def test_worker_refuses_fewer_than_one_process(db):
    from shopmail.mail.models import Message

    with pytest.raises(CommandError, match="--processes must be at least 1"):
        call_command("worker", "--processes", "0", "--once")
    assert not Message.objects.exists()  # nothing was started or changed
