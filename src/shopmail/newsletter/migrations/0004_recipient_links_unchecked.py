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
    ]
