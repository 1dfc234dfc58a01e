"""Only the indexes a query uses on ``mail_message`` (issue 26: every index is written for each
message queued, 100,000 at once for a newsletter).

Dropped: the foreign-key index on ``order_id`` (``mail_order_idx`` starts with it), the index on
``to_email`` (the address is always looked up case-blind, ``UPPER(...)``, which it could not
serve) and, on PostgreSQL, the ``varchar_pattern_ops`` twins of ``notification`` and
``to_email`` (no ``LIKE`` on them). ``resend_of_id`` is indexed only where it is set. Added:
``UPPER(to_email)``.

The old indexes are dropped by name instead of by ``AlterField``: on SQLite that would copy the
whole table once per field, and on PostgreSQL drop and re-check the foreign keys.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

# the names Django gave them (0001_initial), and the column each is on
OLD = {
    "mail_message_notification_f6b4d97f": "notification",
    "mail_message_to_email_1ca189f7": "to_email",
    "mail_message_order_id_41343fe2": "order_id",
    "mail_message_resend_of_id_e6fcab70": "resend_of_id",
}
LIKE = ("mail_message_notification_f6b4d97f", "mail_message_to_email_1ca189f7")  # PostgreSQL's twins


def drop_old(apps, schema_editor):
    for name in OLD:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}_like"')


def make_old(apps, schema_editor):
    for name, column in OLD.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "mail_message" ("{column}")')
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE:
            column = OLD[name]
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}_like" ON "mail_message" ("{column}" varchar_pattern_ops)'
            )


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0005_template_version_simple"),
        ("store", "0007_notify_since_whole_second"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="notification",
                    field=models.CharField(max_length=40),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="order",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="store.order",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="resend_of",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="mail.message",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="to_email",
                    field=models.CharField(max_length=254),
                ),
            ],
            database_operations=[migrations.RunPython(drop_old, make_old)],
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["notification"], name="mail_notification_idx"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(django.db.models.functions.text.Upper("to_email"), name="mail_to_email_idx"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("resend_of__isnull", False)), fields=["resend_of"], name="mail_resend_idx"
            ),
        ),
    ]
