"""Data at rest readable by other local users (issue 19, finding 10), with `shopmail serve`.

The SQLite file and captured mail were 0644/0755 and held the SMTP password and live links. The
data dir is now 0700, its files 0600, and the SMTP password is stored encrypted.
"""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.request
from pathlib import Path

from live_server import LiveServer

from factories import order

PASSWORD = "Hunter2-plain-smtp-secret"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _api(live: LiveServer, method: str, path: str, key: str, body: object) -> int:
    request = urllib.request.Request(
        f"{live.url}/api/v1{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def test_the_data_dir_is_private_and_the_smtp_password_sealed(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as an older version left it
    (data / "old-captured.eml").write_text("Subject: x\n\nhttp://shop/account/reset/abcdef123456/\n")
    os.chmod(data / "old-captured.eml", 0o644)
    live = LiveServer(data).start()
    try:
        key = live.run_django("from shopmail.api import keys\nprint(keys.create('t')[1])").strip()
        live_since = {"notify_since": "2020-01-01T00:00:00Z", "admin_email": "staff@shop.test"}
        assert _api(live, "PATCH", "/settings", key, live_since) == 200
        assert _api(live, "PUT", "/orders/1", key, order("1", status="processing")) == 200
        captured = data / "captured-mail"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(captured.glob("**/*.eml")):
            time.sleep(0.2)
        mails = list(captured.glob("**/*.eml"))
        assert mails, "the worker wrote no captured mail"
        transport = {"kind": "smtp", "host": "mail.example.com", "username": "shop", "password": PASSWORD}
        assert _api(live, "PATCH", "/settings", key, {"transport": transport}) == 200
        stored = live.run_django(
            "from shopmail.store.models import StoreSettings\n"
            "print(StoreSettings.load().transport['password'])"
        ).strip()
    finally:
        live.stop()

    assert _mode(data) == 0o700
    assert _mode(data / "old-captured.eml") == 0o600
    for path in [data / "shopmail.sqlite3", data / "secret_key", *mails]:
        assert _mode(path) & 0o077 == 0, f"{path} is {oct(_mode(path))}"
    for path in [captured, *{m.parent for m in mails}]:
        assert _mode(path) & 0o077 == 0, f"{path} is {oct(_mode(path))}"
    # the password is in the database only encrypted, and opens with the secret key
    database = b"".join(p.read_bytes() for p in data.glob("shopmail.sqlite3*"))
    assert PASSWORD.encode() not in database
    assert stored.startswith("sealed:v1:") and PASSWORD not in stored
