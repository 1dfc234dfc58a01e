"""Bounce reports in (``POST /api/v1/hooks/bounces``) and the suppression list (SPEC sections 2, 9)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import errors_response, json_response
from shopmail.mail.deliverability import intake, suppression
from shopmail.mail.deliverability.models import Suppression

router = Router(tags=["deliverability"])

REPORT_TYPES = ("message/rfc822", "text/plain", "application/octet-stream")


@router.post(
    "/hooks/bounces",
    summary="A bounce (RFC 3464) or complaint (RFC 5965) report, the raw message as the body",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def bounce_hook(request: HttpRequest) -> HttpResponse:
    if request.content_type not in REPORT_TYPES:
        return errors_response(
            [{"loc": ["header", "Content-Type"], "msg": "must be message/rfc822 (the raw report)"}],
            status=415,
        )
    body = request.body
    if not body.strip():
        return errors_response([{"loc": ["body"], "msg": "is empty: send the raw report"}])
    if len(body) > intake.MAX_REPORT_BYTES:
        return errors_response([{"loc": ["body"], "msg": "is larger than 1 MB"}], status=413)
    return json_response(intake.receive(body, via="api").as_dict())


@router.get("/suppressions", summary="Addresses shopmail will not mail, newest first, with why and when")
def list_suppressions(request: HttpRequest, q: str = "", offset: int = 0, limit: int = 100) -> HttpResponse:
    if not 0 <= offset <= 10**9 or not 1 <= limit <= 1000:  # (SQLite's integers end at 2**63)
        return errors_response(
            [{"loc": ["query", "limit"], "msg": "offset must be 0 to 10^9 and limit 1 to 1000"}]
        )
    rows = Suppression.objects.order_by("-created_at", "-pk")
    if q:
        rows = rows.filter(email__icontains=q.strip().lower())
    total = rows.count()
    return json_response(
        {"total": total, "items": [suppression.as_dict(row) for row in rows[offset : offset + limit]]}
    )


@router.delete("/suppressions/{email}", summary="Mail this address again")
def delete_suppression(request: HttpRequest, email: str) -> HttpResponse:
    if not suppression.remove(email):
        return json_response({"detail": "address is not suppressed"}, status=404)
    return HttpResponse(status=204)
