"""``mail_message`` and ``newsletter_recipient`` carry only the indexes a query uses (migrations
mail 0006 and newsletter 0003, issue 26): each index is written for every message queued, a
newsletter queues 100,000 at once. The lookups that need one still find it."""

from __future__ import annotations

import pytest
from django.db import connection

from shopmail.mail.models import Message

pytestmark = pytest.mark.django_db

DROPPED = {
    "mail_message": {
        "mail_message_notification_f6b4d97f",
        "mail_message_notification_f6b4d97f_like",
        "mail_message_to_email_1ca189f7",
        "mail_message_to_email_1ca189f7_like",
        "mail_message_order_id_41343fe2",
        "mail_message_resend_of_id_e6fcab70",
    },
    "newsletter_recipient": {"newsletter_recipient_newsletter_id_aed8550a"},
}


def indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def plan(queryset) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: ask for the index's plan
            return queryset.explain()
    return queryset.explain()


def test_the_unused_indexes_are_gone_and_the_used_ones_are_there():
    for table, dropped in DROPPED.items():
        assert not indexes(table) & dropped, table
    assert {
        "mail_claim_idx",
        "mail_order_idx",
        "mail_notification_idx",
        "mail_to_email_idx",
        "mail_resend_idx",
    } <= (indexes("mail_message"))
    assert {"newsletter_recipient_once", "newsletter_recipient_position"} <= indexes("newsletter_recipient")


def test_the_lookups_of_the_panel_and_the_api_use_an_index():
    from django.db import transaction

    with transaction.atomic():
        assert "mail_order_idx" in plan(Message.objects.filter(order_id=7).order_by("created_at"))
        assert "mail_notification_idx" in plan(Message.objects.filter(notification="order_shipped"))
        assert "mail_resend_idx" in plan(Message.objects.filter(resend_of_id__in=[1, 2]))
        if connection.vendor == "postgresql":  # SQLite's iexact is a LIKE, which no index serves
            assert "mail_to_email_idx" in plan(Message.objects.filter(to_email__iexact="Ana@Example.com"))
