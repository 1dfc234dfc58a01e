"""'Detect transports' was a port scanner (issue 19, finding 12): it connected to whatever host
and port staff typed in the form. It now contacts only the saved SMTP server and the local MTA."""

from __future__ import annotations

import socket
import threading

import pytest

from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db


class Listener:
    """A TCP port that counts who connects (the 'internal service' an attacker maps)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def internal_service():
    listener = Listener()
    yield listener
    listener.close()


def test_detect_connects_only_to_the_saved_server(staff_client, smtp_store, smtp_server, internal_service):
    form = {"kind": "smtp", "host": "127.0.0.1", "port": str(internal_service.port), "security": "none"}
    response = staff_client.post("/admin/settings/detect/", form)
    assert response.status_code == 200
    page = response.content.decode()
    assert internal_service.connections == 0  # the typed-in host:port was never contacted
    assert f":{internal_service.port}" not in page
    # normal use: the saved server is probed and reported (and nothing is sent)
    assert f"{smtp_server.host}:{smtp_server.port}" in page and "answered 220" in page
    assert "localhost:25" in page
    assert "MAIL" not in smtp_server.commands
    assert StoreSettings.load().transport["port"] == smtp_server.port  # nothing saved


def test_without_a_saved_smtp_server_only_the_local_mta_is_tried(staff_client, internal_service):
    form = {"kind": "smtp", "host": "127.0.0.1", "port": str(internal_service.port), "security": "none"}
    page = staff_client.post("/admin/settings/detect/", form).content.decode()
    assert internal_service.connections == 0
    assert "localhost:25" in page and "Save an SMTP server to probe it too" in page
