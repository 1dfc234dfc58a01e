"""Recipient's links to its newsletter, customer and message lose their database-level foreign
key (ADR 0014): on PostgreSQL the check of each took a row lock per recipient at commit, most of
the cost of freezing and queueing a large newsletter.

On SQLite the check is a cheap index lookup, and changing it would copy the table once per field,
so SQLite keeps its REFERENCES clauses: the state changes on both, the schema on PostgreSQL only.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


class AlterFieldOnPostgres(migrations.AlterField):
    def database_forwards(self, app_label: Any, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: Any, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0006_only_used_indexes"),
        ("newsletter", "0003_only_used_indexes"),
        ("store", "0007_notify_since_whole_second"),
    ]

    operations = [
        AlterFieldOnPostgres(
            model_name="recipient",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="store.customer",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="recipient",
            name="message",
            field=models.OneToOneField(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="newsletter_recipient",
                to="mail.message",
            ),
        ),
        AlterFieldOnPostgres(
            model_name="recipient",
            name="newsletter",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="recipients",
                to="newsletter.newsletter",
            ),
        ),
        # Backwards this runs first: an id whose row is gone (a customer deleted while a list was
        # being frozen) would make adding the constraints back fail. Forwards it does nothing.
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql=[
                "UPDATE newsletter_recipient SET customer_id = NULL WHERE customer_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM store_customer c WHERE c.id = newsletter_recipient.customer_id)",
                "UPDATE newsletter_recipient SET message_id = NULL WHERE message_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM mail_message m WHERE m.id = newsletter_recipient.message_id)",
                "DELETE FROM newsletter_recipient"
                " WHERE NOT EXISTS (SELECT 1 FROM newsletter_newsletter n WHERE n.id = newsletter_recipient.newsletter_id)",
            ],
        ),
    ]
