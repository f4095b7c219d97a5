# Hand-written (issue 6, bulk add speed): SandboxUser.smtp_addresses, the narrow column the address-clash
# check (proxy_addresses.owner_of) searches instead of the JSON text of every user's properties.

from django.db import migrations, models


def _key(properties) -> str:
    # Frozen copy of models.smtp_address_key: a migration must not change when the model code does.
    found = []
    for entry in (properties or {}).get("proxyAddresses") or []:
        prefix, sep, rest = str(entry).strip().partition(":")
        if sep and prefix.lower() == "smtp" and rest:
            found.append(rest.lower())
    return f"|{'|'.join(found)}|" if found else ""


def backfill(apps, schema_editor):
    SandboxUser = apps.get_model("sandbox", "SandboxUser")
    # Read first, then write: no update while a cursor over the same table is still open (SQLite).
    rows = list(SandboxUser.objects.values_list("id", "properties"))
    changed = [SandboxUser(id=pk, smtp_addresses=_key(props)) for pk, props in rows if _key(props)]
    SandboxUser.objects.bulk_update(changed, ["smtp_addresses"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0009_transport_fault_switches"),
    ]

    operations = [
        migrations.AddField(
            model_name="sandboxuser",
            name="smtp_addresses",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
