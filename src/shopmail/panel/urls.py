"""URLs of the panel app."""

from django.urls import URLPattern, URLResolver

app_name = "panel"
urlpatterns: list[URLPattern | URLResolver] = []
