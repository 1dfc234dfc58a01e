"""Attacks on the transport settings (issue 19, findings 2 and 4), through the API and the panel.

2. The stored SMTP password followed a changed host: ``PATCH`` with a new host and no password
   kept the old password, which was then sent to the new host in ``AUTH PLAIN``.
4. Any program as "sendmail": the binary path was settable from the API and the panel; ``/bin/rm``
   with a crafted from-address deleted a file and the panel said "sent".
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from fixtures.smtp import SmtpTestServer
from shopmail.mail import testmail
from shopmail.mail.transports import TransportConfigError, make_transport
from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db


def _send_test() -> str:
    try:
        result = asyncio.run(testmail.send_test("me@shop.test", store=StoreSettings.load()))
    except TransportConfigError as exc:  # e.g. 535: the server refused the login
        return f"not sent: {exc}"
    return str(result.outcome)


@pytest.fixture
def attacker_smtp(tmp_path):
    """An SMTP server on another host (127.0.0.2) that would take the old password."""
    server = SmtpTestServer(cert_dir=tmp_path, host="127.0.0.2")
    try:
        server.start()
    except OSError as exc:  # pragma: no cover - a kernel without the whole 127/8 on lo
        pytest.skip(f"cannot listen on 127.0.0.2: {exc}")
    yield server
    server.stop()


def test_a_changed_host_or_username_drops_the_stored_password(api, smtp_server, attacker_smtp):
    smtp_server.require_auth("shop", "old-secret")
    attacker_smtp.require_auth("shop", "old-secret")  # accepts it, if it is ever sent
    own = {"kind": "smtp", "host": smtp_server.host, "port": smtp_server.port, "security": "none"}
    assert (
        api.patch(
            "/settings", {"transport": {**own, "username": "shop", "password": "old-secret"}}
        ).status_code
        == 200
    )

    # normal use: the same server and user without a password keeps it (a changed timeout)
    assert api.patch("/settings", {"transport": {**own, "username": "shop", "timeout": 5}}).status_code == 200
    assert api.get("/settings").json()["transport"]["password_set"] is True
    assert _send_test() == "sent"
    assert smtp_server.messages[-1].auth_user == "shop"

    # the attack: point the transport at another host, give no password, send a test
    evil = {"kind": "smtp", "host": attacker_smtp.host, "port": attacker_smtp.port, "security": "none"}
    response = api.patch("/settings", {"transport": {**evil, "username": "shop"}})
    assert response.status_code == 200
    assert "password_set" not in response.json()["transport"]
    assert "password" not in StoreSettings.load().transport
    assert _send_test() != "sent"
    assert attacker_smtp.messages == []  # the old password was not there to log in with

    # a changed username on the right host drops it too
    api.patch("/settings", {"transport": {**own, "username": "shop", "password": "old-secret"}})
    api.patch("/settings", {"transport": {**own, "username": "someone-else"}})
    assert "password" not in StoreSettings.load().transport

    # a new host with its own password given works
    attacker_smtp.require_auth("shop", "its-own")
    assert (
        api.patch("/settings", {"transport": {**evil, "username": "shop", "password": "its-own"}}).status_code
        == 200
    )
    assert _send_test() == "sent" and attacker_smtp.messages[-1].auth_user == "shop"


def _recording_sendmail(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "sendmail-args"
    script = tmp_path / "real-sendmail"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\ncat > /dev/null\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, record


def test_the_api_cannot_choose_a_program(api, monkeypatch, tmp_path):
    response = api.patch("/settings", {"transport": {"kind": "sendmail", "path": "/bin/rm"}})
    assert response.status_code == 422
    assert any("path" in [str(p) for p in error["loc"]] for error in response.json()["detail"])
    assert StoreSettings.load().transport == {"kind": "capture"}
    # normal use: the API chooses the kind; the program is SHOPMAIL_SENDMAIL's
    assert api.patch("/settings", {"transport": {"kind": "sendmail"}}).status_code == 200
    assert StoreSettings.load().transport == {"kind": "sendmail"}


def test_the_panel_cannot_choose_a_program_and_a_stored_one_is_never_run(staff_client, monkeypatch, tmp_path):
    script, record = _recording_sendmail(tmp_path)
    monkeypatch.setenv("SHOPMAIL_SENDMAIL", str(script))
    monkeypatch.chdir(tmp_path)  # "rm -i -f victim@example.com -- me@shop.test" runs here
    victim = tmp_path / "victim@example.com"
    victim.write_text("precious")

    response = staff_client.post("/admin/settings/transport/", {"kind": "sendmail", "path": "/bin/rm"})
    assert response.status_code == 302
    assert StoreSettings.load().transport == {"kind": "sendmail"}
    page = staff_client.get("/admin/settings/").content.decode()
    assert 'name="path"' not in page and str(script) in page

    # a path stored by an older version, and the crafted from-address of the attack
    store = StoreSettings.load()
    store.transport = {"kind": "sendmail", "path": "/bin/rm"}
    store.from_email = victim.name
    store.save()
    assert make_transport(store.transport, tmp_path).path == str(script)  # type: ignore[attr-defined]
    response = staff_client.post("/admin/settings/test/", {"to": "me@shop.test"})
    assert response.status_code == 200
    assert victim.read_text() == "precious"  # /bin/rm never ran
    assert record.read_text().splitlines() == ["-i", "-f", victim.name, "--", "me@shop.test"]
    assert "Accepted" in response.content.decode() or "sent" in response.content.decode()


def test_a_password_stored_in_plain_text_by_an_older_version_is_sealed_at_start():
    from shopmail.core import secretbox

    old = {"kind": "smtp", "host": "mail.example.com", "username": "shop", "password": "plain-old"}
    sealed = secretbox.sealed_transport(old)
    assert sealed is not None and sealed["password"] != "plain-old"
    assert secretbox.unseal(str(sealed["password"])) == "plain-old"
    assert secretbox.sealed_transport(sealed) is None  # nothing more to do
    assert secretbox.sealed_transport({"kind": "capture"}) is None
