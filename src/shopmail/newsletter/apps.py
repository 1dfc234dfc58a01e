from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "shopmail.newsletter"
    label = "newsletter"

    def ready(self) -> None:
        from shopmail.mail import compose
        from shopmail.newsletter import mailing

        compose.register(mailing.NOTIFICATION, mailing.compose_registered)
