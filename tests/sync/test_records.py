"""Graph user record → DirectoryUser columns, and licence naming (no Graph, mostly no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from users.sync.records import (
    SYNCED_FIELDS,
    RecordError,
    last_sign_in,
    merge_record,
    parse_user_id,
    upn_domain,
    user_fields,
)
from users.sync.skus import UNKNOWN_LICENCE, LicenceNamer, sku_product_name, store_subscribed_skus

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"  # Microsoft 365 E3 in Microsoft's catalogue
UNKNOWN = "0badc0de-0000-4000-8000-000000000001"


def namer(**names) -> LicenceNamer:
    return LicenceNamer(names)


HYBRID = {
    "id": "03372aeb-58d2-5826-aeb9-fb4ffa4b1b9e",
    "userPrincipalName": "Daniela.Haddad@Fabrikam.com",
    "displayName": "Daniela Haddad",
    "givenName": "Daniela",
    "surname": "Haddad",
    "mail": "daniela.haddad@fabrikam.com",
    "jobTitle": "Network Engineer",
    "department": "IT",
    "usageLocation": "ca",
    "userType": "Member",
    "businessPhones": ["+1 416 555 1799"],
    "proxyAddresses": ["SMTP:Daniela.Haddad@fabrikam.com", "smtp:dh@fabrikaminc.onmicrosoft.com"],
    "accountEnabled": False,
    "onPremisesSyncEnabled": True,
    "onPremisesImmutableId": "bxoR9fFj/lSGS7UFBnUYug==",
    "onPremisesLastSyncDateTime": "2026-11-25T23:14:00Z",
    "createdDateTime": "2022-03-02T08:21:25Z",
    "assignedLicenses": [{"disabledPlans": [], "skuId": E3}],
    "@odata.type": "#microsoft.graph.user",
}


def test_hybrid_member_maps_every_column():
    fields = user_fields(HYBRID, LicenceNamer(), now=NOW)
    assert set(fields) == set(SYNCED_FIELDS)
    assert fields["user_principal_name"] == "Daniela.Haddad@Fabrikam.com"
    assert fields["upn_domain"] == "fabrikam.com"
    assert fields["usage_location"] == "CA"
    assert fields["account_enabled"] is False
    assert fields["on_premises_sync_enabled"] is True
    assert fields["on_premises_immutable_id"] == "bxoR9fFj/lSGS7UFBnUYug=="
    assert fields["on_premises_last_sync"] == datetime(2026, 11, 25, 23, 14, tzinfo=UTC)
    assert fields["created_datetime"] == datetime(2022, 3, 2, 8, 21, 25, tzinfo=UTC)
    assert fields["proxy_search"] == "smtp:daniela.haddad@fabrikam.com smtp:dh@fabrikaminc.onmicrosoft.com"
    assert fields["license_sku_ids"] == [E3]
    assert fields["license_names"] == "Microsoft 365 E3"  # from Microsoft's catalogue
    assert fields["is_licensed"] is True
    assert "@odata.type" not in fields["graph"]
    assert fields["synced_at"] == NOW


def test_guest_cloud_only_unlicensed():
    guest = {
        "id": str(uuid.uuid4()),
        "userPrincipalName": "jo_gmail.com#EXT#@contoso.onmicrosoft.com",
        "displayName": "Jo (guest)",
        "userType": "Guest",
        "accountEnabled": True,
        "onPremisesSyncEnabled": None,
        "assignedLicenses": [],
        "businessPhones": [],
        "proxyAddresses": None,
    }
    fields = user_fields(guest, LicenceNamer(), now=NOW)
    assert fields["user_type"] == "Guest"
    assert fields["upn_domain"] == "contoso.onmicrosoft.com"
    assert fields["on_premises_sync_enabled"] is False
    assert (
        fields["is_licensed"] is False and fields["license_names"] == "" and fields["license_sku_ids"] == []
    )
    assert fields["proxy_addresses"] == [] and fields["proxy_search"] == ""
    assert fields["created_datetime"] is None


def test_licence_names_sorted_tenant_name_first_and_never_a_guid():
    tenant_sku = str(uuid.uuid4())
    record = {
        "id": str(uuid.uuid4()),
        "assignedLicenses": [
            {"skuId": UNKNOWN},
            {"skuId": tenant_sku},
            {"skuId": E3},
            {"skuId": "not-a-guid"},
        ],
    }
    fields = user_fields(record, namer(**{tenant_sku: "CONTOSO_CUSTOM_SKU"}), now=NOW)
    names = fields["license_names"].split("; ")
    assert names == sorted(["CONTOSO_CUSTOM_SKU", "Microsoft 365 E3", UNKNOWN_LICENCE])
    assert UNKNOWN not in fields["license_names"]
    assert len(fields["license_sku_ids"]) == 3  # the malformed item is ignored, not fatal


def test_subscribed_sku_unknown_to_catalogue_is_named_by_part_number():
    assert sku_product_name({"skuId": E3, "skuPartNumber": "SPE_E3"}) == "Microsoft 365 E3"
    assert sku_product_name({"skuId": UNKNOWN, "skuPartNumber": "CONTOSO_NEW_SKU"}) == "CONTOSO_NEW_SKU"
    assert sku_product_name({"skuId": UNKNOWN}) == UNKNOWN_LICENCE


@pytest.mark.django_db
def test_store_subscribed_skus_sets_rows_names_and_capabilities():
    from tests.users.factories import make_tenant
    from users.models import TenantSku

    tenant = make_tenant(skus=())
    p1_plan = {"servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "servicePlanName": "AAD_PREMIUM"}
    namer_ = store_subscribed_skus(
        tenant,
        [
            {"skuId": E3, "skuPartNumber": "SPE_E3", "consumedUnits": 3, "prepaidUnits": {"enabled": 5},
             "servicePlans": [p1_plan], "capabilityStatus": "Enabled", "appliesTo": "User"},
            {"skuId": UNKNOWN, "skuPartNumber": "CONTOSO_NEW_SKU", "consumedUnits": 0,
             "prepaidUnits": {"enabled": 1}},
        ],
    )  # fmt: skip
    rows = {str(row.sku_id): row for row in TenantSku.objects.filter(tenant=tenant)}
    assert rows[E3].product_name == "Microsoft 365 E3" and rows[E3].available_units == 2
    assert rows[UNKNOWN].product_name == "CONTOSO_NEW_SKU"
    assert namer_(UNKNOWN) == "CONTOSO_NEW_SKU"
    tenant.refresh_from_db()
    assert tenant.has_entra_p1 and not tenant.has_entra_p2 and tenant.capabilities_checked_at
    store_subscribed_skus(tenant, [])  # subscriptions gone: rows and capability go too
    tenant.refresh_from_db()
    assert not TenantSku.objects.filter(tenant=tenant).exists() and not tenant.has_entra_p1


def test_merge_keeps_properties_a_delta_item_leaves_out():
    merged = merge_record(HYBRID, {"id": HYBRID["id"], "jobTitle": "Lead", "mobilePhone": None})
    assert merged["jobTitle"] == "Lead"
    assert merged["mobilePhone"] is None  # an explicit null clears
    assert merged["department"] == "IT"  # absent means unchanged


def test_strings_are_cut_to_column_length():
    fields = user_fields({"id": str(uuid.uuid4()), "givenName": "x" * 500}, LicenceNamer(), now=NOW)
    assert len(fields["given_name"]) == 64


def test_invalid_id_and_helpers():
    with pytest.raises(RecordError):
        parse_user_id("nope")
    assert upn_domain("no-at-sign") == ""
    assert last_sign_in(None) is None
    assert last_sign_in(
        {
            "lastSignInDateTime": "2026-01-01T00:00:00Z",
            "lastNonInteractiveSignInDateTime": "2026-02-01T00:00:00Z",
        }
    ) == datetime(2026, 2, 1, tzinfo=UTC)
