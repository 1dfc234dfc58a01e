"""URL map: the API, health and metrics (the panel and My page mount here as they land)."""

from django.urls import include, path

from shopmail.api.metrics import metrics_view
from shopmail.api.urls import api, api_docs
from shopmail.mail.health import healthz
from shopmail.panel import branding

# a database or disk that cannot take a write answers 503 with Retry-After, not 500 (issue 18)
handler500 = "shopmail.unavailable.server_error"

urlpatterns = [
    path("api/v1/", api.urls),
    path("api/docs", api_docs, name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("branding/logo/<str:name>", branding.logo, name="brand-logo"),  # the uploaded logo (SPEC 4)
    path("admin/", include("shopmail.panel.urls")),
    path("admin/", include("shopmail.support.staff_urls")),
    path("admin/newsletters/", include("shopmail.newsletter.panel_urls")),
    path("admin/connectors/", include("shopmail.connectors.panel")),
    path("account/", include("shopmail.account.urls")),
    path("dropship/", include("shopmail.panel.dropship_portal")),  # the drop-shipper portal (SPEC 7)
    path("", include("shopmail.support.urls")),
    path("", include("shopmail.newsletter.urls")),
]
