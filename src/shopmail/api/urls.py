"""Every API router, mounted on the one NinjaAPI, and its interactive docs."""

from django.http import HttpRequest, HttpResponse
from ninja.openapi.views import openapi_view

from shopmail.api import (
    actions,
    deliverability,
    dropshippers,
    events,
    feed,
    ingest,
    messages,
    newsletters,
    openapi,
    settings,
    templates,
)
from shopmail.api.base import api
from shopmail.api.hooks import router as hooks_router

api.add_router("", ingest.router)
api.add_router("", actions.router)
api.add_router("", dropshippers.router)
api.add_router("", settings.router)
api.add_router("", events.router)
api.add_router("", messages.router)
api.add_router("", templates.router)
api.add_router("", feed.router)
api.add_router("", newsletters.router)
api.add_router("", hooks_router)
api.add_router("", deliverability.router)
openapi.install(api)  # response and error schemas and an example for every call


def api_docs(request: HttpRequest) -> HttpResponse:
    """Interactive docs (Swagger UI, served from this server's own static files) at /api/docs."""
    return openapi_view(request, api)


__all__ = ["api", "api_docs"]
