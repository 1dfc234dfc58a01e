from django.apps import AppConfig


class DropshipConfig(AppConfig):
    name = "shopmail.dropship"
    label = "dropship"
    default_auto_field = "django.db.models.BigAutoField"
