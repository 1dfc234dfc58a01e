"""``GET /api/v1/feed?after=CURSOR``: shopmail's side of the story, oldest first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from shopmail.api.base import json_response
from shopmail.core.errors import Rejected
from shopmail.store import feed

router = Router(tags=["feed"])


@router.get("/feed", summary="Events for the shop to pick up: customer.updated, backorder.chosen, rma.*, ...")
def get_feed(request: HttpRequest, after: int = 0, limit: int = 100) -> HttpResponse:
    if after < 0 or not 1 <= limit <= 1000:
        raise Rejected([{"loc": ["query", "limit"], "msg": "after must be >= 0 and limit 1-1000"}])
    return json_response(feed.page(after, limit))
