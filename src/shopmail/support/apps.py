from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "shopmail.support"
    label = "support"
