"""Ready before the first order: every notification's templates compiled and its catalogs loaded
when a server starts, instead of by the first orders after a (re)start.

Measured with ``bench/delivery.py`` (latency at 50 orders/s, 2026-12-07): without it the e-mails
of the first 1.5 s after ``shopmail serve`` came up waited up to 1.9 s (each first render of a
notification and language compiles its templates and inlines their CSS), which was most of the
run's p99; warming all 24 notifications in three languages takes about 0.6 s at start.

``settle()`` then moves what start-up built (modules, URL patterns, compiled templates, which
live as long as the process) out of the cyclic garbage collector's way (``gc.freeze``): its first
full collection under load otherwise walked all of them, a pause of ~100 ms for every thread
about five seconds after start (seen in the per-second latency of ``bench/delivery.py``).
"""

from __future__ import annotations

import gc
import logging
import time

from shopmail.mail import editing, templates
from shopmail.mail.notifications import NOTIFICATIONS

log = logging.getLogger("shopmail.warmup")


def warm() -> float:
    """Render every notification in every language once (on the sample order); seconds taken.
    A template that cannot render is only logged here: the worker holds its messages as usual."""
    started = time.perf_counter()
    for notification in NOTIFICATIONS:
        for language in templates.languages():
            try:
                editing.preview(notification, language, None)
            except Exception as exc:  # a store's broken template: reported where it is used
                log.warning("template %s/%s does not render: %s", notification, language, exc)
    took = time.perf_counter() - started
    log.info("templates compiled in %.2f s", took)
    return took


def settle() -> None:
    """After start-up, before the first request or claim: freeze what start-up allocated."""
    gc.collect()
    gc.freeze()
