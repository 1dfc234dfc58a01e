"""core/http_guard in front of any WSGI app: what it refuses, and that it passes the rest untouched."""

from __future__ import annotations

import io
from typing import Any

import pytest

from shopmail.core import http_guard
from shopmail.core.http_guard import RequestGuard


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d" % len(body)]


def _call(path: str, body: bytes = b"", length: bool = True, **headers: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body)}
    if length:
        environ["CONTENT_LENGTH"] = str(len(body))
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    seen: list[str] = []
    result = RequestGuard(_app)(environ, lambda status, headers: seen.append(status))
    return seen[0], b"".join(result)


def test_limits_per_path():
    assert http_guard.body_limit("/contact/") == http_guard.PUBLIC_BODY
    assert http_guard.body_limit("/account/login/") == http_guard.PUBLIC_BODY
    assert http_guard.body_limit("/api/v1/orders/1") == http_guard.STAFF_BODY
    assert http_guard.body_limit("/admin/templates/x/") == http_guard.STAFF_BODY
    assert http_guard.body_limit("/api/v1/sync") == http_guard.SYNC_BODY


def test_refusals_and_normal_requests():
    assert _call("/contact/", b"x" * 100) == ("200 OK", b"read 100")
    status, body = _call("/contact/", b"x" * (http_guard.PUBLIC_BODY + 1))
    assert status.startswith("413") and b"read" not in body
    status, body = _call("/api/v1/orders/1", b"x" * (http_guard.STAFF_BODY + 1))
    assert status.startswith("413") and body.startswith(b'{"detail"')
    assert _call("/healthz", cookie='a="' + "\\" * 100 + '"')[0].startswith("400")
    assert _call("/healthz", cookie="sessionid=abc; csrftoken=def")[0] == "200 OK"
    assert _call("/healthz", x_big="v" * (http_guard.MAX_HEADER_BYTES + 1))[0].startswith("431")


def test_a_body_without_a_length_is_cut_at_the_limit():
    assert _call("/contact/", b"x" * 10, length=False) == ("200 OK", b"read 10")
    with pytest.raises(ValueError, match="too large"):
        _call("/contact/", b"x" * (http_guard.PUBLIC_BODY + 10), length=False)
