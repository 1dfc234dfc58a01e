from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "shopmail.mail.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shopmail.core import periodic
        from shopmail.mail.webhooks import deliver

        periodic.register("webhooks.deliver", deliver.run)
