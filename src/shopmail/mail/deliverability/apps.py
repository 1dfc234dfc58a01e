from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    name = "shopmail.mail.deliverability"
    label = "deliverability"
    verbose_name = "Deliverability"
