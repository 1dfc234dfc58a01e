from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "shopmail.newsletter"
    label = "newsletter"
