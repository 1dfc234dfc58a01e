"""Denial of service against the real server, `shopmail serve` on waitress (issue 19, findings 1, 9, 13).

1. A 160 KB Cookie of backslashes on ``GET /healthz`` took 54 s of CPU (CVE-2024-7592) and
   stalled the process. Oversized header sets are refused before Django parses them.
9. One 150 MB POST to ``/contact/`` took the server from 193 MB to 766 MB. Bodies over the
   path's limit are refused before they are read.
13. 110 idle sockets blocked all new connections under waitress's defaults.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
from live_server import LiveServer

from shopmail.core import http_guard


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("serve-limits")).start()
    yield server
    server.stop()


def _raw(server: LiveServer, head: bytes, body: bytes = b"", timeout: float = 30) -> bytes:
    """Send ``head`` (and ``body``) on one connection; the first bytes of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head)
        if body:
            with contextlib.suppress(OSError):  # it answered and closed before taking it all: fine
                sock.sendall(body)
        return sock.recv(4096)


def test_a_cookie_of_backslashes_is_refused_before_django_parses_it(live):
    cookie = 'a="' + "\\" * 160_000 + '"'
    started = time.process_time()
    status, _ = live.get("/healthz", {"Cookie": cookie}, timeout=20)
    assert status == 431
    # under the 16 KB header limit but still hostile: refused by the WSGI guard
    status, body = live.get("/healthz", {"Cookie": 'a="' + "\\" * 6000 + '"'}, timeout=20)
    assert status == 400 and b"Cookie" in body
    status, _ = live.get("/healthz", {"Cookie": "x=" + "y" * (http_guard.MAX_COOKIE_BYTES + 10)})
    assert status == 431
    # normal use: ordinary cookies, and the server still answers
    assert live.get("/healthz", {"Cookie": "csrftoken=abc; sessionid=def; lang=nb"})[0] == 200
    assert live.get("/contact/")[0] == 200
    assert time.process_time() - started < 60  # (the client's CPU; the server's is what was at risk)


def test_header_sets_over_16_kb_get_431(live):
    headers = {f"X-Filler-{i}": "v" * 1000 for i in range(20)}
    assert live.get("/healthz", headers)[0] == 431
    assert live.get("/api/v1/messages", headers)[0] == 431
    assert live.get("/healthz", {f"X-Filler-{i}": "v" * 500 for i in range(10)})[0] == 200


def test_a_huge_form_body_is_refused_from_its_length_without_reading_it(live):
    before = live.rss_kb()
    head = (
        b"POST /contact/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 157286400\r\n\r\n"
    )
    answer = _raw(live, head, b"name=" + b"x" * 65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # 1 MB: under waitress's cap, over the public form limit: the guard refuses it unread
    body = b"message=" + b"x" * (1024 * 1024)
    head = (
        b"POST /contact/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    answer = _raw(live, head, body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert live.rss_kb() - before < 50 * 1024  # the 150 MB POST once took it from 193 MB to 766 MB


def test_the_api_and_sync_uploads_take_larger_bodies(live):
    big = b'{"orders": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'  # 1 MB: fine for the API
    status, _ = live.call("POST", "/api/v1/sync", big, {"Content-Type": "application/json"})
    assert status == 401  # reached the API (no key), not refused for its size
    too_big = b"x" * (http_guard.STAFF_BODY + 1)
    status, _ = live.call("PUT", "/api/v1/orders/1", too_big, {"Content-Type": "application/json"})
    assert status == 413
    assert http_guard.body_limit("/admin/sync/") == http_guard.SYNC_BODY > http_guard.STAFF_BODY


def test_a_connection_flood_does_not_stop_healthz(live):
    idle: list[socket.socket] = []
    try:
        for _ in range(300):  # waitress's default connection_limit was 100
            sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never finish the request
            idle.append(sock)
        status, body = live.get("/healthz", timeout=20)
        assert status == 200, body
    finally:
        for sock in idle:
            sock.close()
