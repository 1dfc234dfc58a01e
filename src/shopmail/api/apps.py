from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "shopmail.api"
    label = "api"
    verbose_name = "API"
