from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "shopmail.mail.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shopmail.core import periodic
        from shopmail.mail import metrics
        from shopmail.mail.webhooks import config, deliver
        from shopmail.store import store_settings

        periodic.register("webhooks.deliver", deliver.run)  # the delivery worker runs it (SPEC 8)
        metrics.register(deliver.metrics)
        store_settings.register(config.SECTION)
