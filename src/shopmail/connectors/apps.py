from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "shopmail.connectors"
    label = "connectors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shopmail.connectors import schedule

        schedule.register()
