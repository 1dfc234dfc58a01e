"""The smaller defects of issue 20, item 10: the back-order choice after the confirmation,
the reset mail's lifetime in words, saved segments in words."""

from __future__ import annotations

import pytest

from factories import order
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message

pytestmark = pytest.mark.django_db(transaction=False)


def test_back_order_choice_is_not_due_before_the_confirmation(store):
    from shopmail.mail import worker

    data = order("B-1", status="processing")
    data["lines"][0]["backordered"] = True
    assert not ingest(orders=[data]).rejected
    confirmation = Message.objects.get(notification="order_confirmed")
    choice = Message.objects.get(notification="order_backorder_choice")
    assert choice.due_at > confirmation.due_at
    claimed = worker.claim("test-worker", 10, now=confirmation.due_at)
    assert confirmation.pk in claimed and choice.pk not in claimed


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "expires after 24 hours"), ("nb", "etter 24 timer"), ("de", "24 Stunden gültig")],
)
def test_reset_mail_says_24_hours(store, language, words):
    from shopmail.account.models import AccountToken
    from shopmail.account.tokens import LIFETIME
    from shopmail.mail import rendering

    assert LIFETIME[AccountToken.Purpose.RESET].total_seconds() == 24 * 3600
    context = rendering.sample_context("password_reset", language)
    rendered = rendering.render("password_reset", language, context)
    assert words in rendered.text and words in rendered.html
    assert "a while" not in rendered.text


def test_saved_segments_are_shown_in_words(store, client):
    from django.contrib.auth import get_user_model

    from shopmail.newsletter import drafts

    drafts.save_segment("Norwegians", {"language": ["nb"], "min_orders": 2})
    user = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(user)
    page = client.get("/admin/newsletters/").content.decode()
    assert "language is nb; at least 2 orders" in page
    assert "{&#x27;" not in page and "{'" not in page
