"""Every error under /api/ answers JSON (`{"detail": ...}`), even the ones Django or the router
produce before our handlers run (405 Method Not Allowed, 404 for an unknown path)."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from django.http import HttpRequest, HttpResponse


class JsonApiErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
            and not getattr(response, "streaming", False)
        ):
            text = response.content.decode("utf-8", "replace").strip() or response.reason_phrase
            if response.status_code >= 500 or text.lstrip().startswith("<"):
                text = response.reason_phrase  # never echo an HTML error page
            json_response = HttpResponse(
                orjson.dumps({"detail": text[:500]}),
                status=response.status_code,
                content_type="application/json",
            )
            for header in ("Allow", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response
