"""URLs of the account app."""

from django.urls import URLPattern, URLResolver

app_name = "account"
urlpatterns: list[URLPattern | URLResolver] = []
