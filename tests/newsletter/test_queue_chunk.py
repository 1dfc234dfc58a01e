"""The set-based queueing of a newsletter (``sending._queue_chunk``) on either database: one
statement on PostgreSQL, three on SQLite, the same rows in the end; and the recipient's links,
which have no database-level foreign key on PostgreSQL (ADR 0014)."""

from __future__ import annotations

import pytest
from django.db import connection
from newsletter_support import customer

from shopmail.mail import outbox
from shopmail.mail.models import Message, Payload, Priority
from shopmail.newsletter import drafts, sending
from shopmail.newsletter.models import Recipient
from shopmail.store.models import StoreSettings

pytestmark = pytest.mark.django_db


def _letter():
    return drafts.save(None, subject="Winter news", html="<p>Warm socks</p>")


def test_every_recipient_gets_one_message_its_payload_and_its_link(store):
    people = [customer(n, language=["en", "nb-NO", "DE_de", ""][n % 4]) for n in range(7)]
    letter = _letter()
    sending.send(letter)
    rows = list(Recipient.objects.filter(newsletter=letter).order_by("position"))
    assert [r.customer_id for r in rows] == [p.pk for p in people]
    messages = {m.pk: m for m in Message.objects.filter(notification="newsletter")}
    assert sorted(messages) == sorted(r.message_id for r in rows)
    for row in rows:
        message = messages[row.message_id]
        assert message.key == sending.message_key(letter.pk, row.customer_id)
        assert message.to_email == row.email and message.priority == Priority.BULK
        domain = outbox.message_id_domain(StoreSettings.load().from_email)
        assert message.message_id.endswith(f".{row.position}@{domain}>")
        payload = Payload.objects.get(pk=message.pk)
        assert payload.context == {"newsletter_id": letter.pk, "newsletter_revision": letter.revision}
        assert payload.language == row.language
    assert [r.language for r in rows] == ["en", "nb", "de", "en", "en", "nb", "de"]
    assert len({m.message_id for m in messages.values()}) == 7


def test_a_message_made_by_a_run_that_did_not_link_it_is_linked_not_made_again(store):
    people = [customer(n) for n in range(4)]
    letter = _letter()
    sending.freeze(letter.pk)
    settings = StoreSettings.load()
    made = outbox.queue(  # as a run that died before linking it left it: a message with its key
        [
            outbox.Draft(
                key=sending.message_key(letter.pk, people[1].pk),
                notification=sending.NOTIFICATION,
                to_email=people[1].email,
                language="en",
                context={"newsletter_id": letter.pk, "newsletter_revision": letter.revision},
                priority=Priority.BULK,
            )
        ],
        settings,
    )[0]
    bare = Message.objects.create(  # and one whose payload is missing
        key=sending.message_key(letter.pk, people[2].pk), notification="newsletter", to_email=people[2].email
    )
    sending.queue_pending(letter.pk)
    assert Message.objects.filter(notification="newsletter").count() == 4
    linked = dict(Recipient.objects.filter(newsletter=letter).values_list("customer_id", "message_id"))
    assert linked[people[1].pk] == made.pk and linked[people[2].pk] == bare.pk
    assert Payload.objects.filter(message__notification="newsletter").count() == 4
    assert Payload.objects.get(pk=bare.pk).context["newsletter_id"] == letter.pk


def test_recipient_links_have_no_foreign_key_on_postgresql_and_keep_sqlites(store):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Recipient._meta.db_table)
    references = sorted(c["columns"][0] for c in constraints.values() if c["foreign_key"])
    if connection.vendor == "postgresql":
        assert references == []  # ADR 0014: the per-row check at commit was half of queueing
    else:  # migration 0004 leaves SQLite's table as it was rather than copy it once per field
        assert references == ["customer_id", "message_id", "newsletter_id"]


def test_a_customer_deleted_through_the_orm_still_leaves_the_recipient_unlinked(store):
    people = [customer(n) for n in range(2)]
    letter = _letter()
    sending.send(letter)
    people[0].delete()
    row = Recipient.objects.get(newsletter=letter, position=0)
    assert row.customer_id is None and row.message_id is not None  # the message log keeps it


def test_a_customer_gone_without_the_orm_while_the_list_was_frozen_is_skipped_as_deleted(store):
    # A delete committed while the freeze was open: Django's SET_NULL could not see the new
    # recipient row, and PostgreSQL no longer refuses the dangling id (ADR 0014).
    people = [customer(n) for n in range(3)]
    letter = _letter()
    sending.freeze(letter.pk)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM store_customer WHERE id = %s", [people[1].pk])
    sending.queue_pending(letter.pk)
    row = Recipient.objects.get(newsletter=letter, position=1)
    assert (row.skipped, row.message_id) == ("deleted", None)
    assert Message.objects.filter(notification="newsletter").count() == 2
    # SQLite keeps the foreign key (deferred to the commit this test never makes); for the
    # test framework's check of deferred constraints at its end, unlink it
    Recipient.objects.filter(pk=row.pk).update(customer=None)
