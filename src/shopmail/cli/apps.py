from django.apps import AppConfig


class CliConfig(AppConfig):
    """The ``shopmail`` commands (Django management commands): an adapter, like the API and the panel."""

    name = "shopmail.cli"
    label = "cli"
    verbose_name = "Command line"
