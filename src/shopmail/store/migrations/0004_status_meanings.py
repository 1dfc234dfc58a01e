# Status meanings (SPEC section 3): platform, status_map and time_zone settings; the meaning of
# each status in the change history.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0003_deliverability_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="storesettings",
            name="platform",
            field=models.CharField(default="generic", max_length=20),
        ),
        migrations.AddField(
            model_name="storesettings",
            name="status_map",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="storesettings",
            name="time_zone",
            field=models.CharField(default="UTC", max_length=64),
        ),
        migrations.AddField(
            model_name="orderevent",
            name="before_meaning",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AddField(
            model_name="orderevent",
            name="after_meaning",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
    ]
