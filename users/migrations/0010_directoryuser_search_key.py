"""Case- and accent-insensitive search: DirectoryUser.search_key (users.search_key), filled for the rows
already cached, with a pg_trgm GIN index on PostgreSQL.

The search no longer reads display name, given name or surname through UPPER(col) LIKE 'X%', so their
expression indexes from 0004 go (each index costs every sync write); UPPER(user_principal_name) and
UPPER(mail) stay: the address clash checks look them up with iexact.
"""

from django.db import migrations, models

from users.search_key import build_search_key

CHUNK = 2000
_DROPPED_PREFIX_COLUMNS = ("display_name", "given_name", "surname")


def fill_search_keys(apps, schema_editor):
    DirectoryUser = apps.get_model("users", "DirectoryUser")
    rows = DirectoryUser.objects.using(schema_editor.connection.alias).order_by("pk")
    last = 0
    while True:
        chunk = list(
            rows.filter(pk__gt=last).only(
                "pk",
                "display_name",
                "given_name",
                "surname",
                "user_principal_name",
                "mail",
                "proxy_addresses",
            )[:CHUNK]
        )
        if not chunk:
            return
        for row in chunk:
            row.search_key = build_search_key(
                display_name=row.display_name,
                given_name=row.given_name,
                surname=row.surname,
                user_principal_name=row.user_principal_name,
                mail=row.mail,
                proxy_addresses=row.proxy_addresses or (),
            )
        DirectoryUser.objects.using(schema_editor.connection.alias).bulk_update(chunk, ["search_key"])
        last = chunk[-1].pk


def postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS dirusers_search_key_trgm ON users_directoryuser "
        "USING gin (search_key gin_trgm_ops)"
    )
    for column in _DROPPED_PREFIX_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS dirusers_prefix_{column}")


def postgres_indexes_back(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS dirusers_search_key_trgm")
    for column in _DROPPED_PREFIX_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS dirusers_prefix_{column} ON users_directoryuser "
            f"(tenant_id, UPPER({column}::text) varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0009_bulk_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="directoryuser",
            name="search_key",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(postgres_indexes, postgres_indexes_back),
    ]
