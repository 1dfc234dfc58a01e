from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "shopmail.newsletter"
    label = "newsletter"

    def ready(self) -> None:
        from shopmail.mail import compose
        from shopmail.mail.deliverability import intake
        from shopmail.newsletter import consent, mailing, sending

        compose.register(mailing.NOTIFICATION, mailing.compose_registered, sending.complete)
        intake.complaint_received.connect(consent.on_complaint, dispatch_uid="newsletter.complaint")
