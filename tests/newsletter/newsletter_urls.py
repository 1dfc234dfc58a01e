"""The site's URLs plus the newsletter wizard and API, for as long as shopmail/urls.py and
api/urls.py do not mount them yet (then this is the site's URL map unchanged)."""

from __future__ import annotations

from django.urls import Resolver404, URLPattern, URLResolver, include, path, resolve

from shopmail import urls as site


def _mounted(url: str) -> bool:
    try:
        resolve(url, urlconf=site)
    except Resolver404:
        return False
    return True


urlpatterns: list[URLPattern | URLResolver] = []
if not _mounted("/admin/newsletters/"):
    urlpatterns.append(path("admin/newsletters/", include("shopmail.newsletter.panel_urls")))
if not _mounted("/api/v1/newsletters"):
    from ninja import NinjaAPI

    from shopmail.api import base, newsletters
    from shopmail.store.ingest import Rejected

    api = NinjaAPI(
        title="shopmail newsletters (test mount)",
        version="1-newsletters",
        urls_namespace="newsletters-api",
        auth=base.ApiKeyAuth(),
        docs_url=None,
        openapi_url=None,
    )
    api.exception_handler(Rejected)(base._rejected)
    api.exception_handler(base.NinjaValidationError)(base._invalid)
    api.add_router("", newsletters.router)
    urlpatterns.append(path("api/v1/", api.urls))
urlpatterns += site.urlpatterns
