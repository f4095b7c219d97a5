"""Search ignores case and accents the same way on every database, in several scripts (issue 19 part 2).

The same file passes on SQLite (default) and PostgreSQL (DATABASE_URL=postgres://…): the folding happens in
Python (users.search_key), so neither database's LIKE/UPPER rules decide what matches.
"""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.db import connection

from users.models import DirectoryUser
from users.search_key import SEPARATOR, build_search_key, fold
from users.sync import apply_user_record
from users.sync.records import user_fields

from .factories import make_admin, make_tenant

URL = "/users/"

# (display name, given name, surname, UPN local part)
PEOPLE = (
    ("Elif Özdemir", "Elif", "Özdemir", "elif.ozdemir"),
    ("Akira Müller", "Akira", "Müller", "akira.mueller"),
    ("Hans Großmann", "Hans", "Großmann", "hans.grossmann"),
    ("Ayşe Yıldız", "Ayşe", "Yıldız", "ayse.yildiz"),
    ("İlker Işık", "İlker", "Işık", "ilker.isik"),
    ("Σωκράτης Παπαδόπουλος", "Σωκράτης", "Παπαδόπουλος", "sokratis.p"),
    ("Пётр Ёлкин", "Пётр", "Ёлкин", "petr.yolkin"),
    ("山田 太郎", "太郎", "山田", "taro.yamada"),
    ("ガッコウ 花子", "花子", "ガッコウ", "hanako.g"),
    ("Søren Ærø", "Søren", "Ærø", "soren.aero"),
    ("José Ramírez", "José", "Ramírez", "jose.ramirez"),
    ("Ozan Ozturk", "Ozan", "Ozturk", "ozan.ozturk"),
)


@pytest.fixture
def world(db, client):
    tenant = make_tenant("Fold Co", domain="fold.example")
    for index, (display, given, surname, local) in enumerate(PEOPLE):
        DirectoryUser.objects.create(
            tenant=tenant,
            user_id=uuid.uuid5(tenant.tenant_id, str(index)),
            user_principal_name=f"{local}@fold.example",
            upn_domain="fold.example",
            display_name=display,
            given_name=given,
            surname=surname,
            mail=f"{local}@fold.example",
            proxy_addresses=[f"SMTP:{local}@fold.example"],
            proxy_search=f"smtp:{local}@fold.example",
        )
    client.force_login(make_admin())
    return tenant


def found(client, term: str) -> set[str]:
    response = client.get(URL, {"tenant": "fold.example", "q": term, "per_page": "500"})
    assert response.status_code == 200
    return {row["user"].display_name for row in response.context["rows"]}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("özdemir", "Elif Özdemir"),
        ("ÖZDEMIR", "Elif Özdemir"),
        ("Ozdemir", "Elif Özdemir"),
        ("AKIRA MÜLLER", "Akira Müller"),
        ("akira muller", "Akira Müller"),
        ("müll", "Akira Müller"),
        ("GROSSMANN", "Hans Großmann"),
        ("großm", "Hans Großmann"),
        ("yildiz", "Ayşe Yıldız"),
        ("YILDIZ", "Ayşe Yıldız"),
        ("ayse", "Ayşe Yıldız"),
        ("ilker", "İlker Işık"),
        ("İLKER", "İlker Işık"),
        ("isik", "İlker Işık"),
        ("ΣΩΚΡΑΤΗΣ", "Σωκράτης Παπαδόπουλος"),
        ("σωκρατης", "Σωκράτης Παπαδόπουλος"),
        ("παπαδοπ", "Σωκράτης Παπαδόπουλος"),
        ("ПЁТР", "Пётр Ёлкин"),
        ("петр", "Пётр Ёлкин"),
        ("елкин", "Пётр Ёлкин"),
        ("山田", "山田 太郎"),
        ("太郎", "山田 太郎"),
        ("ｶﾞｯｺｳ", "ガッコウ 花子"),  # half-width katakana typed, full-width stored
        ("soren aero", "Søren Ærø"),
        ("JOSE RAMIREZ", "José Ramírez"),
        ("ramírez", "José Ramírez"),
    ],
)
def test_search_ignores_case_and_accents_in_every_script(world, client, term, expected):
    assert found(client, term) == {expected}


def test_an_accent_typed_matches_the_plain_spelling_too(world, client):
    # Folding is symmetric: "Öz" and "oz" are the same prefix, so both Özdemir and Ozan Ozturk match.
    assert found(client, "Öz") == found(client, "oz") == {"Elif Özdemir", "Ozan Ozturk"}


def test_a_prefix_in_the_middle_of_a_value_is_not_a_match(world, client):
    # (Aliases are matched anywhere, so these are parts of names that no address contains.)
    assert found(client, "kira m") == set()
    assert found(client, "απαδοπ") == set()
    assert found(client, "ЛКИН") == set()


def test_addresses_match_by_prefix_and_aliases_by_substring(world, client):
    assert found(client, "AKIRA.MUELLER@") == {"Akira Müller"}
    assert found(client, "mueller@fold") == {"Akira Müller"}  # the middle of an alias


def test_dakuten_is_part_of_the_letter_not_an_accent():
    # ガ (ga) is not カ (ka): Japanese voicing marks are kept, only Latin/Greek/Cyrillic diacritics go.
    assert fold("ガッコウ") != fold("カッコウ")
    assert fold("ｶﾞｯｺｳ") == fold("ガッコウ")


def test_fold_values():
    assert fold("  Straße \t Nord ") == "strasse nord"
    assert fold("ΟΔΥΣΣΕΥΣ") == fold("Οδυσσεύς") == "οδυσσευσ"  # final sigma folds to sigma
    assert fold("İSTANBUL") == fold("ıstanbul") == "istanbul"
    assert fold("Łódź") == "lodz"
    assert fold(f"a{SEPARATOR}b") == "a b"  # a separator never survives inside a value or a term


def test_key_holds_each_value_once_after_a_separator():
    key = build_search_key(
        display_name="Akira Müller",
        given_name="Akira",
        surname="Müller",
        user_principal_name="akira@x.example",
        mail="AKIRA@x.example",
        proxy_addresses=["SMTP:akira@x.example", "smtp:am@y.example", "X500:/o=Org/cn=akira"],
    )
    assert key.split(SEPARATOR) == ["", "akira muller", "akira", "muller", "akira@x.example", "am@y.example"]


def test_the_sync_writes_the_key_and_write_through_keeps_it_current(world, client):
    record = {
        "id": str(uuid.uuid4()),
        "userPrincipalName": "zoe@fold.example",
        "displayName": "Zoë Brontë",
        "proxyAddresses": ["SMTP:zoe@fold.example"],
    }
    assert SEPARATOR + "zoe bronte" in user_fields(record, lambda sku: sku, now=None)["search_key"]
    apply_user_record(world, record, partial=False)  # what a full or delta sync page writes
    assert found(client, "ZOE BRONTE") == {"Zoë Brontë"}
    # An action's write-through lays only the changed properties over the cached record.
    apply_user_record(world, {"id": record["id"], "displayName": "Zoë Dvořák"}, partial=True)
    assert found(client, "dvorak") == set()  # a display name's second word is not a prefix
    assert found(client, "zoe dvorak") == {"Zoë Dvořák"}
    assert found(client, "zoe bronte") == set()


def test_a_row_saved_through_the_orm_keeps_its_key(world, client):
    user = DirectoryUser.objects.get(tenant=world, given_name="Akira")
    user.display_name = "Ängel Müller"
    user.save(update_fields=["display_name"])
    assert found(client, "angel") == {"Ängel Müller"}


def test_the_migration_fills_the_key_of_rows_already_cached(world):
    DirectoryUser.objects.filter(tenant=world).update(search_key="")
    migration = importlib.import_module("users.migrations.0010_directoryuser_search_key")
    migration.fill_search_keys(apps, type("Editor", (), {"connection": connection})())
    user = DirectoryUser.objects.get(tenant=world, given_name="Elif")
    assert user.search_key == build_search_key(
        display_name="Elif Özdemir",
        given_name="Elif",
        surname="Özdemir",
        user_principal_name="elif.ozdemir@fold.example",
        mail="elif.ozdemir@fold.example",
        proxy_addresses=["SMTP:elif.ozdemir@fold.example"],
    )
    assert not DirectoryUser.objects.filter(tenant=world, search_key="").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index exists on PostgreSQL only")
def test_postgresql_serves_the_search_from_the_trigram_index(world):
    from users.queries import search_q

    # A dozen rows would be read whole whatever the indexes; without the sequential scan the plan shows
    # which index the search condition can use.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = DirectoryUser.objects.filter(search_q("özdemir")).explain()
    assert "dirusers_search_key_trgm" in plan
