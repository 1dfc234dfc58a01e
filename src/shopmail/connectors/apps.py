from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "shopmail.connectors"
    label = "connectors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shopmail.connectors import config, schedule
        from shopmail.store import store_settings

        schedule.register()
        store_settings.register(config.SECTION)
