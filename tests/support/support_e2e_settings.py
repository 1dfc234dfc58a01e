"""Settings for a `shopmail serve` started by the browser tests: the project's, with the staff
pages of the support app mounted (see support_test_urls)."""

from shopmail.settings import *  # noqa: F403

ROOT_URLCONF = "support_test_urls"
