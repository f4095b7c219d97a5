"""SandboxUser.smtp_addresses: the narrow column the address-clash check searches (issue 6, bulk add speed).

A stale column would let an address be taken twice, so each writer of proxyAddresses is checked here: Graph
create and PATCH ``mail``, Exchange's write-back (save_user), a plain ``save(update_fields=["properties"])``,
seeding (bulk_create) and the migration's backfill.
"""

from __future__ import annotations

import importlib

import pytest

from graph.sandbox import directory
from graph.sandbox import proxy_addresses as addresses
from graph.sandbox.models import SandboxUser, smtp_address_key

from .factories import GraphCaller, default_domain, make_user

pytestmark = pytest.mark.django_db

UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."


def _stored(user: SandboxUser) -> str:
    return SandboxUser.objects.values_list("smtp_addresses", flat=True).get(pk=user.pk)


def test_key_lists_only_smtp_addresses_lower_case_without_prefix():
    props = {"proxyAddresses": ["SMTP:Adele.Vance@Contoso.com", "smtp:av@contoso.onmicrosoft.com",
                                "SIP:adele@contoso.com", "X500:/o=Org/cn=adele", "plain@contoso.com"]}  # fmt: skip
    assert smtp_address_key(props) == "|adele.vance@contoso.com|av@contoso.onmicrosoft.com|"
    assert smtp_address_key({"proxyAddresses": []}) == "" and smtp_address_key({}) == ""


def test_every_writer_keeps_the_column_and_the_clash_check_follows(tenant, client):
    domain = default_domain(tenant)
    user = make_user(tenant, "adele.vance", mail=f"Adele.Vance@{domain}")
    assert _stored(user) == f"|adele.vance@{domain}|"

    # Exchange's Set-Mailbox -EmailAddresses writes back through save_user.
    alias = f"Sales@{domain}"
    user.properties = {
        **user.properties,
        "proxyAddresses": [*user.properties["proxyAddresses"], f"smtp:{alias}"],
    }
    directory.save_user(user)
    assert _stored(user) == f"|adele.vance@{domain}|sales@{domain}|"
    assert addresses.owner_of(tenant, alias.upper()) == user
    response = GraphCaller(client, tenant)("POST", "users", {
        "accountEnabled": True, "displayName": "Sales", "mailNickname": "sales", "userPrincipalName": alias,
        "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"},
    })  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["message"] == UPN_TAKEN

    # PATCH mail: the new address becomes primary, the old one stays as a secondary.
    directory.update_user(user, {"mail": f"adele@{domain}"})
    assert set(_stored(user).strip("|").split("|")) == {
        f"adele@{domain}",
        f"adele.vance@{domain}",
        f"sales@{domain}",
    }

    # A save limited to the properties (seeding does this) still refreshes the column.
    user.properties = {**user.properties, "proxyAddresses": [f"SMTP:adele@{domain}"]}
    user.save(update_fields=["properties"])
    assert _stored(user) == f"|adele@{domain}|"
    assert addresses.owner_of(tenant, alias) is None

    # Soft-deleted users keep their addresses (Graph still refuses them until purged).
    directory.soft_delete_user(user)
    assert addresses.owner_of(tenant, f"adele@{domain}") == user


def test_seeded_users_carry_the_column(sandbox_world):
    rows = list(SandboxUser.objects.values_list("properties", "smtp_addresses"))
    assert any(column for _, column in rows)
    assert all(column == smtp_address_key(props) for props, column in rows)


def test_migration_backfill_uses_the_same_key(tenant):
    migration = importlib.import_module("graph.sandbox.migrations.0010_user_smtp_addresses")
    samples = [
        {},
        {"proxyAddresses": None},
        {"proxyAddresses": ["SMTP:A@B.com", " smtp:c@d.com ", "SIP:e@f.com"]},
    ]
    assert [migration._key(props) for props in samples] == [smtp_address_key(props) for props in samples]

    from django.apps import apps

    user = make_user(tenant, "megan.bowen", mail=f"megan@{default_domain(tenant)}")
    SandboxUser.objects.filter(pk=user.pk).update(smtp_addresses="")  # as the column is right after AddField
    migration.backfill(apps, None)
    assert _stored(user) == f"|megan@{default_domain(tenant)}|"
