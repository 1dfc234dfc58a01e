"""503, not 500, when the database or its disk cannot take a write (issue 18).

A ``django.db.OperationalError`` or ``InterfaceError`` that no view caught (a PostgreSQL
restart, SQLite's "database or disk is full", a lock timeout) means "try again shortly", not a
bug: the API answers ``503 {"detail": ..., "reason": ...}`` with ``Retry-After``, the panel, My
page and every other page a short readable page, also 503 with ``Retry-After``.

It is Django's ``handler500`` (``shopmail.urls``): Django calls it for every uncaught
exception, also one raised while a middleware saves the session after the view, with the
exception still being handled (``sys.exc_info()``). Anything else stays a plain 500.
"""

from __future__ import annotations

import logging
import sys

import orjson
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.utils.html import escape
from django.utils.translation import gettext as _

log = logging.getLogger("shopmail.web")

RETRY_AFTER = 30  # seconds: a server restart or freed disk space is usually sooner


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if "full" in lowered or "no space" in lowered or "disk" in lowered:
        return "database or disk is full"
    if "locked" in lowered or "lock timeout" in lowered or "deadlock" in lowered:
        return "database is busy"
    return "database unavailable"


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if not isinstance(exc, OperationalError | InterfaceError):
        return HttpResponseServerError(
            b"<!doctype html><title>Server error</title><h1>Server error (500)</h1>", content_type="text/html"
        )
    reason = reason_of(exc)
    log.error("answered 503: %s (%s: %s)", reason, type(exc).__name__, str(exc).strip()[:300])
    if request.path.startswith("/api/") or request.path in ("/metrics", "/healthz"):
        body = {"detail": "Service temporarily unavailable; try again shortly.", "reason": reason}
        response = HttpResponse(orjson.dumps(body), status=503, content_type="application/json")
    else:
        title = _("Temporarily unavailable")
        text = _(
            "Saving or loading did not work just now (%(reason)s). "
            "Nothing is lost: please try again in a minute."
        ) % {"reason": _(reason)}
        page = (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>"
            '<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">'
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
            f'<p><a href="{escape(request.get_full_path())}">{escape(_("Try again"))}</a></p></body></html>'
        )
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
