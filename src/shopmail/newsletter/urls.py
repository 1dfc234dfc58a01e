"""Public URLs of the newsletter app (mounted at the site root)."""

from django.urls import URLPattern, URLResolver, path

from shopmail.newsletter import views

app_name = "newsletter"
urlpatterns: list[URLPattern | URLResolver] = [
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/", views.unsubscribe),
]
