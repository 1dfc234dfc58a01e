"""``GET /metrics`` (SPEC section 7): the Prometheus text that ``mail.metrics`` renders, behind the
API's bearer keys (scrape it with the Prometheus ``authorization`` config)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from shopmail.api.keys import check
from shopmail.mail.metrics import render


def metrics_view(request: HttpRequest) -> HttpResponse:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or check(auth.removeprefix("Bearer ").strip()) is None:
        return HttpResponse(
            "unauthorized\n", status=401, content_type="text/plain", headers={"WWW-Authenticate": "Bearer"}
        )
    return HttpResponse(render(), content_type="text/plain; version=0.0.4; charset=utf-8")
