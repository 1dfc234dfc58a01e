from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    name = "shopmail.mail.deliverability"
    label = "deliverability"
    verbose_name = "Deliverability"

    def ready(self) -> None:
        from shopmail.mail import metrics
        from shopmail.mail.deliverability import metrics as deliverability_metrics

        metrics.register(deliverability_metrics.section)
