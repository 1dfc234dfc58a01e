"""Settings for a `shopmail serve` started by the wizard's browser test: the site plus the
newsletter URLs (see newsletter_urls)."""

from shopmail.settings import *  # noqa: F403

ROOT_URLCONF = "newsletter_urls"
