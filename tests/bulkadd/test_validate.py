"""Every validation rule of a bulk import, against the seeded sandbox (Northwind Traders: domains
northwindtraders.com, northwind.co.uk, northwindtraders.onmicrosoft.com; country GB)."""

from __future__ import annotations

import uuid

from graph.sandbox.models import SandboxUser
from tests.bulkadd.conftest import csv_bytes
from users.bulkadd.validate import validate_import
from users.models import BulkImportRow


def _rows(bulk_import) -> dict[int, BulkImportRow]:
    return {row.position: row for row in bulk_import.rows.order_by("position")}


def _problems(row, key) -> str:
    return " | ".join(row.problems.get(key, []))


def _existing(world) -> SandboxUser:
    return SandboxUser.objects.filter(
        tenant=world.sandbox, user_type="Member", deleted_datetime__isnull=True
    ).first()


def test_each_user_rule_reports_next_to_its_field(bulk_world, make_import):
    tag = uuid.uuid4().hex[:6]
    taken = _existing(bulk_world).upn_lower
    good = {"givenName": "Ann", "surname": "Lee", "username": f"ann.{tag}", "domain": bulk_world.domain}
    rows = [
        good,                                                                          # 2: fine
        {**good, "givenName": "", "surname": "", "displayName": "", "username": f"x1{tag}"},  # 3: no name
        {**good, "username": "bad name!"},                                            # 4: pattern
        {**good, "username": f"x3{tag}", "domain": "fabrikam.com"},                  # 5: domain not owned
        {**good, "username": taken.split("@")[0], "domain": taken.split("@")[1]},   # 6: UPN taken
        {**good, "username": f"ann.{tag}"},                                           # 7: duplicate of row 2
        {**good, "username": f"x6{tag}", "jobTitle": "J" * 129},                      # 8: too long
        {**good, "username": f"x7{tag}", "licences": "Microsoft 365 E99"},            # 9: unknown licence
        {**good, "username": f"x8{tag}", "groups": "No Such Group"},                  # 10: unknown group
        {**good, "username": f"x9{tag}", "groups": "All Sales (dynamic)"},            # 11: dynamic group
        {**good, "username": f"xa{tag}", "groups": "Sales Team"},                     # 12: distribution list
        {**good, "username": f"xb{tag}", "usageLocation": "Narnia"},                  # 13: usage location
        {**good, "username": f"xc{tag}", "mustChangePassword": "perhaps"},            # 14: bool
        {**good, "username": f"xd{tag}", "manager": f"nobody.{tag}@{bulk_world.domain}"},  # 15: no such manager
        {**good, "username": f"xe{tag}", "manager": f"xe{tag}@{bulk_world.domain}"},  # 16: own manager
        {**good, "username": f"xf{tag}", "aliases": f"{taken}; ok.{tag}; a@fabrikam.com"},  # 17: alias problems
        {**good, "username": f"xg{tag}", "otherMails": "not-an-address"},             # 18
        {**good, "username": f"chris.{tag}@northwind.co.uk", "domain": ""},          # 19: UPN split, fine
        {**good, "username": f"xh{tag}", "domain": "", "manager": f"ann.{tag}@{bulk_world.domain}"},  # 20: fine
    ]  # fmt: skip
    header = ["givenName", "surname", "displayName", "username", "domain", "jobTitle", "licences", "groups",
              "usageLocation", "mustChangePassword", "manager", "aliases", "otherMails"]  # fmt: skip
    bulk_import, _ = make_import(csv_bytes(rows, header=header))
    by_row = _rows(bulk_import)
    # Row 2 is fine but for row 7, its duplicate: each names the other.
    assert list(by_row[2].problems) == ["username"] and "also on row(s) 7" in _problems(by_row[2], "username")
    assert by_row[2].resolved["upn"] == f"ann.{tag}@{bulk_world.domain}"
    assert by_row[2].resolved["usage_location"] == "GB" and by_row[2].resolved["display_name"] == "Ann Lee"
    assert "display name" in _problems(by_row[3], "display_name")
    assert "Letters, digits" in _problems(by_row[4], "username")
    assert "fabrikam.com is not a verified domain" in _problems(by_row[5], "domain")
    assert "is taken" in _problems(by_row[6], "username") and "in use by" in _problems(by_row[6], "username")
    assert "also on row(s) 2" in _problems(by_row[7], "username")
    assert "At most 128 characters (this has 129)" in _problems(by_row[8], "job_title")
    assert "Unknown licence “Microsoft 365 E99”" in _problems(by_row[9], "licences")
    assert "No group called “No Such Group”" in _problems(by_row[10], "groups")
    assert "dynamic membership" in _problems(by_row[11], "groups")
    assert "Exchange" in _problems(by_row[12], "groups")
    assert "is not a country" in _problems(by_row[13], "usage_location")
    assert "true or false" in _problems(by_row[14], "must_change_password")
    assert "No user" in _problems(by_row[15], "manager")
    assert "own manager" in _problems(by_row[16], "manager")
    alias_problems = _problems(by_row[17], "aliases")
    assert f"{taken} is taken" in alias_problems and "fabrikam.com is not a verified domain" in alias_problems
    assert f"ok.{tag}@{bulk_world.domain}" in by_row[17].resolved["aliases"]
    assert "not an e-mail address" in _problems(by_row[18], "other_mails")
    assert by_row[19].problems == {} and by_row[19].resolved["upn"] == f"chris.{tag}@northwind.co.uk"
    assert by_row[20].problems == {} and by_row[20].resolved["manager_row"] == by_row[2].key
    assert by_row[20].resolved["domain"] == bulk_world.domain  # blank domain: the tenant's default


def test_defaults_fill_blank_cells_and_none_overrides(bulk_world, make_import):
    tag = uuid.uuid4().hex[:6]
    sku, group = bulk_world.sku("SPB"), bulk_world.group("SG-VPN-Users")
    rows = [
        {"username": f"d1{tag}", "givenName": "A", "licences": "", "groups": "", "usageLocation": "",
         "mustChangePassword": ""},
        {"username": f"d2{tag}", "givenName": "B", "licences": "none", "groups": "-", "usageLocation": "nl",
         "mustChangePassword": "false"},
        {"username": f"d3{tag}", "givenName": "C", "licences": "exchangestandard; spb", "groups": str(group.id),
         "usageLocation": "Germany", "mustChangePassword": "yes"},
    ]  # fmt: skip
    defaults = {
        "licences": [str(sku.sku_id)],
        "groups": [str(group.id)],
        "usage_location": "US",
        "must_change": True,
    }
    bulk_import, _ = make_import(csv_bytes(rows), defaults=defaults)
    r1, r2, r3 = _rows(bulk_import).values()
    assert (r1.problems, r2.problems, r3.problems) == ({}, {}, {})
    assert r1.resolved["licences"] == [str(sku.sku_id)] and [g["id"] for g in r1.resolved["groups"]] == [
        str(group.id)
    ]
    assert r1.resolved["usage_location"] == "US" and r1.resolved["must_change"] is True
    assert r2.resolved["licences"] == [] and r2.resolved["groups"] == []
    assert r2.resolved["usage_location"] == "NL" and r2.resolved["must_change"] is False
    assert len(r3.resolved["licences"]) == 2 and r3.resolved["usage_location"] == "DE"


def test_licence_units_must_cover_the_whole_file(bulk_world, make_import):
    sku = bulk_world.sku("EXCHANGESTANDARD")
    from graph.sandbox.directory_licences import sku_consumed_units

    free = sku.prepaid_enabled - sku_consumed_units(sku)
    tag = uuid.uuid4().hex[:6]
    rows = [
        {"username": f"u{i}.{tag}", "givenName": f"U{i}", "licences": "EXCHANGESTANDARD"}
        for i in range(free + 1)
    ]
    bulk_import, _ = make_import(csv_bytes(rows))
    assert any(f"{free + 1:,} row(s) get one, {free:,} are free" in p for p in bulk_import.problems)
    # Leaving one row out makes the file fit.
    first = bulk_import.rows.first()
    first.status = BulkImportRow.Status.LEFT_OUT
    first.save()
    validate_import(bulk_import)
    bulk_import.refresh_from_db()
    assert bulk_import.problems == []


def test_a_weak_or_formula_password_is_refused_and_never_kept(bulk_world, make_import):
    tag = uuid.uuid4().hex[:6]
    rows = [
        {"username": f"p1{tag}", "givenName": "A", "password": "weak"},
        {"username": f"p2{tag}", "givenName": "B", "password": "=Formula-Looking1"},
        {"username": f"p3{tag}", "givenName": "C", "password": "Str0ng-Enough!pw"},
    ]
    bulk_import, _ = make_import(csv_bytes(rows))
    r1, r2, r3 = _rows(bulk_import).values()
    assert (
        "8 to 256 characters" in _problems(r1, "password")
        and not r1.password_sealed
        and not r1.password_for_worker
    )
    assert "formula" in _problems(r2, "password") and not r2.password_sealed
    assert (
        r3.problems == {} and r3.password_source == "file" and r3.password_sealed and r3.password_for_worker
    )
    assert "Str0ng" not in str(r3.data) and "weak" not in str(r1.data)


def test_guest_rules(bulk_world, make_import):
    tag = uuid.uuid4().hex[:6]
    member = _existing(bulk_world)
    guest = (
        SandboxUser.objects.filter(tenant=bulk_world.sandbox, user_type="Guest")
        .exclude(mail_lower="")
        .first()
    )
    rows = [
        {"displayName": "Megan", "email": f"megan.{tag}@fabrikam.com"},                       # 2 fine
        {"displayName": "", "email": f"x.{tag}@fabrikam.com"},                                 # 3 no name
        {"displayName": "Bad", "email": "not-an-address"},                                     # 4
        {"displayName": "Own", "email": f"own.{tag}@{bulk_world.domain}"},                     # 5 own domain
        {"displayName": "Dup", "email": f"MEGAN.{tag}@fabrikam.com"},                          # 6 duplicate of 2
        {"displayName": "Url", "email": f"u.{tag}@fabrikam.com", "redirectUrl": "http://x.com"},  # 7 not https
        {"displayName": "Member", "email": member.properties.get("mail") or member.upn_lower},  # 8 a member
    ]  # fmt: skip
    if guest is not None:
        rows.append(
            {"displayName": "Again", "email": guest.mail_lower}
        )  # 9: an existing guest: invited again
    bulk_import, _ = make_import(
        csv_bytes(rows, header=["displayName", "email", "redirectUrl"]), kind="guests"
    )
    by_row = _rows(bulk_import)
    assert list(by_row[2].problems) == ["email"] and "also on row(s) 6" in _problems(by_row[2], "email")
    assert by_row[2].resolved["redirect_url"] == "https://myapps.microsoft.com"
    assert by_row[2].resolved["send_invitation"] is True
    assert "display name" in _problems(by_row[3], "display_name")
    assert "not an e-mail address" in _problems(by_row[4], "email")
    assert "own domains" in _problems(by_row[5], "email")
    assert "also on row(s) 2" in _problems(by_row[6], "email")
    assert "https://" in _problems(by_row[7], "redirect_url")
    assert "member of this tenant" in _problems(by_row[8], "email")
    if guest is not None:
        assert by_row[9].problems == {} and by_row[9].resolved["existing_guest"] == str(guest.pk)
