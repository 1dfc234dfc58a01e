from django.apps import AppConfig


class AccountConfig(AppConfig):
    name = "shopmail.account"
    label = "account"
