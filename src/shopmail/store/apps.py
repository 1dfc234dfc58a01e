from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "shopmail.store"
    label = "store"
    verbose_name = "Store"
