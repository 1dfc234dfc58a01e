"""Every API router, mounted on the one NinjaAPI."""

from shopmail.api import deliverability, events, feed, ingest, messages, newsletters, settings, templates
from shopmail.api.base import api
from shopmail.api.hooks import router as hooks_router

api.add_router("", ingest.router)
api.add_router("", settings.router)
api.add_router("", events.router)
api.add_router("", messages.router)
api.add_router("", templates.router)
api.add_router("", feed.router)
api.add_router("", newsletters.router)
api.add_router("", hooks_router)
api.add_router("", deliverability.router)

__all__ = ["api"]
