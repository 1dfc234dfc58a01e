"""Public URLs of the support app: the contact form."""

from django.urls import URLPattern, URLResolver, path

from shopmail.support import views

app_name = "support"
urlpatterns: list[URLPattern | URLResolver] = [
    path("contact/", views.contact, name="contact"),
    path("contact/sent/", views.contact_sent, name="contact_sent"),
]
