from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "shopmail.store"
    label = "store"
    verbose_name = "Store"

    def ready(self) -> None:
        from shopmail.store import settings_sections, statuses, store_settings

        store_settings.register(settings_sections.DETAILS)
        store_settings.register(settings_sections.BRANDING)
        store_settings.register(statuses.SECTION)
