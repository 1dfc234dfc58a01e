"""Which template is live: remembered per process, never stale after a save."""

from __future__ import annotations

import pytest

from shopmail.mail import editing, rendering, templates
from shopmail.mail.models import TemplateVersion

pytestmark = pytest.mark.django_db


def test_a_saved_version_is_live_at_the_next_lookup_and_restore_goes_back():
    default = rendering.default_source("order_confirmed", "en")
    assert templates.current("order_confirmed", "en") == (default, "default:en")
    assert templates.current("order_confirmed", "en") == (default, "default:en")  # remembered

    saved = editing.save(
        "order_confirmed", "en", {"subject": "Thanks {{ order.number }}", "text": "t", "html": "<p>h</p>"}
    )
    source, label = templates.current("order_confirmed", "en")
    assert label == f"v{saved.pk}" and source.subject == "Thanks {{ order.number }}"
    assert templates.current("order_confirmed", "de")[1] == "default:de"  # other languages untouched

    editing.restore_default("order_confirmed", "en")
    assert templates.current("order_confirmed", "en") == (default, "default:en")


def test_a_version_written_by_another_process_is_seen(django_assert_max_num_queries):
    templates.current("order_shipped", "en")
    # another process saves: only the table changes, nothing in this process is told
    row = TemplateVersion.objects.create(
        notification="order_shipped", language="en", subject="S", text="T", html="H"
    )
    assert templates.current("order_shipped", "en")[1] == f"v{row.pk}"
    with django_assert_max_num_queries(1):  # known and unchanged: one stamp query
        assert templates.current("order_shipped", "en")[1] == f"v{row.pk}"
