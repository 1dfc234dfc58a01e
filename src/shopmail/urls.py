"""URL map: the API, health and metrics (the panel and My page mount here as they land)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from shopmail.api.urls import api
from shopmail.mail.metrics import metrics_view


def healthz(request: HttpRequest) -> HttpResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok\n", content_type="text/plain")


urlpatterns = [
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", include("shopmail.panel.urls")),
    path("admin/", include("shopmail.support.staff_urls")),
    path("admin/newsletters/", include("shopmail.newsletter.panel_urls")),
    path("account/", include("shopmail.account.urls")),
    path("", include("shopmail.support.urls")),
    path("", include("shopmail.newsletter.urls")),
]
