"""Settings for the test run: a throwaway data dir unless one is given."""

import os
import tempfile

os.environ.setdefault("SHOPMAIL_DATA_DIR", tempfile.mkdtemp(prefix="shopmail-test-"))

from shopmail.settings import *  # noqa: F403
