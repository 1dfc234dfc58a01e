from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "shopmail.mail"
    label = "mail"
    verbose_name = "Mail"
