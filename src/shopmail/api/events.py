"""``POST /api/v1/events``: things that happen in the shop besides orders."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import json_body, json_response, object_body
from shopmail.flows import events

router = Router(tags=["events"])


@router.post(
    "/events",
    summary="Report an event (customer.registered, contact.submitted, affiliate.signed_up, ...)",
    openapi_extra=object_body(
        {"type": {"type": "string", "enum": sorted(events.EVENTS)}, "data": {"type": "object"}},
        required=["type", "data"],
    ),
)
def post_event(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    return json_response(events.handle(body.get("type"), body.get("data")), status=202)
