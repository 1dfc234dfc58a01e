"""The project's URLs plus the support app's staff pages, for as long as shopmail.urls does not
mount them yet (then this adds nothing)."""

from django.urls import Resolver404, URLPattern, URLResolver, include, path, resolve

from shopmail.urls import urlpatterns as _project

try:
    resolve("/admin/returns/", urlconf="shopmail.urls")
    _missing: list[URLPattern | URLResolver] = []
except Resolver404:
    _missing = [path("admin/", include("shopmail.support.staff_urls"))]

urlpatterns: list[URLPattern | URLResolver] = [*_project, *_missing]
