from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "shopmail.panel"
    label = "panel"
