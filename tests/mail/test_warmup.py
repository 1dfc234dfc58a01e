"""A starting server compiles every notification's templates before the first order arrives
(mail/warmup.py): the first e-mails after a restart do not wait for compiling."""

from __future__ import annotations

import logging

import pytest

from shopmail.mail import templates, warmup
from shopmail.mail.models import TemplateVersion
from shopmail.mail.notifications import NOTIFICATIONS
from shopmail.mail.render import engine

pytestmark = pytest.mark.django_db


def test_warm_compiles_every_notification_in_every_language(store):
    engine._COMPILED.clear()
    warmup.warm()
    # subject, text and HTML of each notification and language (shared parts counted once)
    assert len(engine._COMPILED) >= len(NOTIFICATIONS) * len(templates.languages())
    compiled = len(engine._COMPILED)
    warmup.warm()
    assert len(engine._COMPILED) == compiled  # the second time finds them all compiled


def test_a_store_template_that_does_not_render_is_logged_and_the_rest_is_warmed(store, caplog):
    TemplateVersion.objects.create(
        notification="order_confirmed", language="en", subject="x", text="{{ order.lines[99].a }}", html="x"
    )
    with caplog.at_level(logging.WARNING, logger="shopmail.warmup"):
        warmup.warm()
    assert any("order_confirmed/en" in record.getMessage() for record in caplog.records)


def test_settle_keeps_start_up_objects_out_of_the_collectors_full_runs():
    import gc

    try:
        warmup.settle()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # Django, shopmail, compiled templates: all of start-up
        assert gc.isenabled()  # later garbage is still collected as usual
    finally:
        gc.unfreeze()  # the test process goes on as before
