"""A WSGI guard in front of Django: refuses what is too big before anything parses or reads it.

* Request headers over 16 KB in all get 431 (SPEC section 2), a ``Cookie`` over 8 KB gets 431,
  and a ``Cookie`` with more than 64 backslashes gets 400: CPython's cookie unquoting (used by
  Django's ``parse_cookie``) is quadratic in backslashes before 3.11.10 / 3.12.6 / 3.13.0
  (CVE-2024-7592); a 160 KB Cookie of backslashes on ``GET /healthz`` took 54 s of CPU. No
  cookie shopmail sets holds a backslash.
* A body larger than the path allows gets 413 from its ``Content-Length``, before the
  application reads it: public pages (contact form, My page, unsubscribe, sign-in) 64 KB, the
  API and the staff panel 4 MB, sync uploads (``/api/v1/sync``, the panel's sync page) 64 MB.
  A body without a length is cut at the same limit.

``shopmail serve`` also sets waitress's own limits (header size, body size, channel timeout,
connection limit); the guard holds under any WSGI server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_HEADER_BYTES = 16 * 1024
MAX_COOKIE_BYTES = 8 * 1024
MAX_COOKIE_BACKSLASHES = 64
PUBLIC_BODY = 64 * 1024
STAFF_BODY = 4 * 1024 * 1024
SYNC_BODY = 64 * 1024 * 1024
SYNC_PATHS = ("/api/v1/sync", "/admin/sync/")
STAFF_PREFIXES = ("/api/", "/admin/")


def body_limit(path: str) -> int:
    """The largest request body ``path`` takes, in bytes."""
    if path.startswith(SYNC_PATHS):
        return SYNC_BODY
    if path.startswith(STAFF_PREFIXES):
        return STAFF_BODY
    return PUBLIC_BODY


def header_bytes(environ: dict[str, Any]) -> int:
    """The size of the request's header fields as sent ("Name: value\\r\\n" each)."""
    total = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            total += len(key) - 5 + len(str(value)) + 4
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            total += len(key) + len(str(value)) + 4
    return total


class _LimitedInput:
    """``wsgi.input`` of a body without a length: reading past ``limit`` bytes fails."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream, self.left = stream, limit + 1

    def _take(self, data: bytes) -> bytes:
        self.left -= len(data)
        if self.left <= 0:
            raise ValueError("request body too large")
        return data

    def read(self, size: int = -1) -> bytes:
        return self._take(self.stream.read(self.left if size is None or size < 0 else min(size, self.left)))

    def readline(self, size: int = -1) -> bytes:
        return self._take(self.stream.readline(self.left if size < 0 else min(size, self.left)))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class RequestGuard:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        if header_bytes(environ) > MAX_HEADER_BYTES:
            return _refuse(
                start_response,
                path,
                431,
                "Request Header Fields Too Large",
                f"request headers over {MAX_HEADER_BYTES} bytes",
            )
        cookie = str(environ.get("HTTP_COOKIE") or "")
        if len(cookie) > MAX_COOKIE_BYTES:
            return _refuse(
                start_response,
                path,
                431,
                "Request Header Fields Too Large",
                f"Cookie header over {MAX_COOKIE_BYTES} bytes",
            )
        if cookie.count("\\") > MAX_COOKIE_BACKSLASHES:
            return _refuse(start_response, path, 400, "Bad Request", "malformed Cookie header")
        limit = body_limit(path)
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        if raw_length:
            if not raw_length.isdigit():
                return _refuse(start_response, path, 400, "Bad Request", "bad Content-Length")
            if int(raw_length) > limit:
                return _refuse(
                    start_response,
                    path,
                    413,
                    "Content Too Large",
                    f"request body over {limit} bytes for {path}",
                )
        elif "wsgi.input" in environ:
            environ["wsgi.input"] = _LimitedInput(environ["wsgi.input"], limit)
        return self.app(environ, start_response)


def _refuse(start_response: StartResponse, path: str, status: int, reason: str, detail: str) -> list[bytes]:
    if path.startswith("/api/"):
        body, kind = json.dumps({"detail": detail}).encode(), "application/json"
    else:
        body, kind = f"{status} {reason}: {detail}\n".encode(), "text/plain; charset=utf-8"
    start_response(
        f"{status} {reason}",
        [("Content-Type", kind), ("Content-Length", str(len(body)))],
    )
    return [body]
