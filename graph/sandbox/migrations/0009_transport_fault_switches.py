# Hand-written (issue 8, faults): the timeout and dropped-connection switches of SandboxTenant.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0008_security_sources"),
    ]

    operations = [
        migrations.AddField(
            model_name="sandboxtenant",
            name="timeout_probability",
            field=models.FloatField(
                default=0.0, help_text="share of requests whose answer comes after the client's read timeout"
            ),
        ),
        migrations.AddField(
            model_name="sandboxtenant",
            name="drop_probability",
            field=models.FloatField(
                default=0.0,
                help_text="share of requests whose connection is dropped (before or after the work)",
            ),
        ),
    ]
