from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "shopmail.mail"
    label = "mail"
    verbose_name = "Mail"

    def ready(self) -> None:
        from shopmail.core import periodic
        from shopmail.mail import retention, settings_sections
        from shopmail.store import store_settings

        periodic.register("mail.retention", retention.periodic)  # the delivery worker runs it
        for section in (
            settings_sections.SWITCHES,
            settings_sections.TRANSPORT,
            settings_sections.DKIM,
            settings_sections.BOUNCES,
        ):
            store_settings.register(section)
