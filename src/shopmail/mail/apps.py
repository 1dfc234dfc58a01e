from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "shopmail.mail"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from shopmail.core import periodic
        from shopmail.mail import retention

        periodic.register("mail.retention", retention.periodic)  # the delivery worker runs it
