"""The foreign-key index on ``newsletter_recipient.newsletter_id`` goes: both unique constraints
start with that column (issue 26: one index less written per recipient). Dropped by name: an
``AlterField`` would copy the table on SQLite and re-check the foreign key on PostgreSQL."""

import django.db.models.deletion
from django.db import migrations, models

NAME = "newsletter_recipient_newsletter_id_aed8550a"


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0002_consent_complaint"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="recipient",
                    name="newsletter",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recipients",
                        to="newsletter.newsletter",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{NAME}"',
                    f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "newsletter_recipient" ("newsletter_id")',
                ),
            ],
        ),
    ]
