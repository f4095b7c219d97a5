"""Edit user's form -> UserEdit, without Graph: the diff against the record the page showed, clearing,
hybrid-synced read-only fields, licences (add / remove / plans, no units left), groups, aliases, manager,
the signed record and the summary."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from graph.services.groups import classify
from users.provisioning import forms_edit
from users.provisioning.edit_state import EditState, HeldLicence, Plan, SkuOption, UserRef
from users.provisioning.forms_edit import EditUserForm, StaleForm, has_changes
from users.provisioning.types import UNCHANGED, LicenceChoice

pytestmark = pytest.mark.django_db  # the signing key only; no Graph, no sandbox

TENANT = SimpleNamespace(tenant_id=uuid.UUID("0f0f0f0f-0000-4000-8000-000000000001"), display_name="Contoso",
                         slug="contoso.com")  # fmt: skip
USER_ID = "11111111-1111-4111-8111-111111111111"
OTHER_ID = "22222222-2222-4222-8222-222222222222"
E3, EXO, FLOW, FULL = (
    "05e9a617-0261-4cee-bb44-138d3ef5d965",
    "4b9405b0-7788-4568-add1-99614e613b69",
    "f30db892-07e9-47e9-837c-80727f46fd3d",
    "c42b9cae-ea4f-4ab7-9717-81576235ccac",
)
TEAMS, SWAY, EXO_PLAN = (Plan("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1"),
                         Plan("a23b959c-7ce8-4e57-9140-b90eb88a9e97", "SWAY"),
                         Plan("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD"))  # fmt: skip
USER = {
    "id": USER_ID, "displayName": "Ada Lovelace", "userPrincipalName": "ada@contoso.com",
    "givenName": "Ada", "surname": "Lovelace", "jobTitle": "Engineer", "department": "R&D",
    "companyName": "Contoso", "city": "London", "businessPhones": ["+44 20 7946 0000"],
    "mobilePhone": "", "usageLocation": "GB", "onPremisesSyncEnabled": None,
    "proxyAddresses": ["SMTP:ada@contoso.com", "smtp:ada.l@contoso.com", "smtp:al@contoso.com"],
}  # fmt: skip


def _group(gid, name, **props):
    return classify({"id": gid, "displayName": name, **props})


GROUPS = [
    _group("g-sec", "VPN Users", securityEnabled=True),
    _group("g-dl", "Sales Team", mailEnabled=True, securityEnabled=False),
    _group("g-dyn", "All Sales", groupTypes=["DynamicMembership"], securityEnabled=True),
    _group("g-ad", "GG-Staff", securityEnabled=True, onPremisesSyncEnabled=True),
]
CHOICES = GROUPS + [
    _group("g-m365", "Marketing", groupTypes=["Unified"], mailEnabled=True),
    _group("g-mes", "Finance Approvers", mailEnabled=True, securityEnabled=True),
    _group("g-dyn2", "All Engineers", groupTypes=["DynamicMembership"], securityEnabled=True),
]


def state(**overrides) -> EditState:
    user = {**USER, **overrides.pop("user", {})}
    skus = [
        SkuOption(E3, "Microsoft 365 E3", "SPE_E3", 10, 4, "Enabled", [TEAMS, SWAY, EXO_PLAN]),
        SkuOption(EXO, "Exchange Online (Plan 1)", "EXCHANGESTANDARD", 5, 1, "Enabled", [EXO_PLAN]),
        SkuOption(FLOW, "Power Automate Free", "FLOW_FREE", 100, 3, "Enabled", [SWAY]),
        SkuOption(FULL, "Visio Plan 2", "VISIOCLIENT", 3, 3, "Enabled", []),
    ]
    licences = [
        HeldLicence(E3, "Microsoft 365 E3", [SWAY.id], [TEAMS, SWAY, EXO_PLAN], direct=True),
        HeldLicence(FLOW, "Power Automate Free", [], [SWAY], direct=False, via_groups=["VPN Users"]),
    ]
    values = {"tenant": TENANT, "user_id": USER_ID, "user": user, "domains": ["contoso.com", "contoso.onmicrosoft.com"],
              "licences": licences, "skus": skus, "groups": list(GROUPS), "group_choices": list(CHOICES),
              "manager": UserRef(OTHER_ID, "Grace Hopper", "grace@contoso.com")}  # fmt: skip
    values.update(overrides)
    return EditState(**values)


def lookup(tenant, text):
    known = {"grace@contoso.com": (OTHER_ID, "grace@contoso.com", "Grace Hopper"),
             "bob@contoso.com": ("33333333-3333-4333-8333-333333333333", "bob@contoso.com", "Bob"),
             "ada@contoso.com": (USER_ID, "ada@contoso.com", "Ada Lovelace")}  # fmt: skip
    return known.get(text.strip().lower())


def post(st: EditState, taken=None, **changes):
    """The form as the page renders it, with ``changes`` applied the way a browser posts them (an unticked
    checkbox is absent), validated. ``taken``: {address: reason} the availability check reports."""
    snapshot = st.snapshot()
    token = forms_edit.sign_original(TENANT, snapshot)
    shown = EditUserForm(state=st, original=snapshot, token=token)
    data = {}
    for name in shown.fields:
        value = shown[name].value()
        if value in (None, False, [], ""):
            continue
        data[name] = "on" if value is True else value
    for name, value in changes.items():
        if value is None or value is False:
            data.pop(name, None)
        else:
            data[name] = value
    form = EditUserForm(data, state=st, original=forms_edit.read_original(TENANT, USER_ID, data["original"]),
                        check_addresses=lambda tenant, addresses, user_id: dict(taken or {}),
                        lookup_user=lookup)  # fmt: skip
    return form


def edit_of(st=None, **changes):
    form = post(st or state(), **changes)
    assert form.is_valid(), form.errors
    return form.to_edit()


# --- the diff -------------------------------------------------------------------------------------------------


def test_an_untouched_form_changes_nothing():
    edit = edit_of()
    assert not has_changes(edit)
    assert edit.changes == {} and edit.manager_id is UNCHANGED
    assert (edit.add_licences, edit.remove_licences, edit.change_plans) == ([], [], [])


def test_only_changed_properties_are_in_the_diff_and_emptied_ones_are_cleared():
    edit = edit_of(job_title="Principal Engineer", department="", business_phone="", city="London ")
    assert edit.changes == {"jobTitle": "Principal Engineer", "department": None, "businessPhones": []}


def test_filling_an_empty_property_and_renaming_the_upn():
    edit = edit_of(mobile_phone="+44 7700 900123", username="ada.lovelace", domain="contoso.onmicrosoft.com")
    assert edit.changes == {"mobilePhone": "+44 7700 900123",
                            "userPrincipalName": "ada.lovelace@contoso.onmicrosoft.com"}  # fmt: skip


def test_display_name_cannot_be_emptied_and_lengths_are_graphs():
    form = post(state(), display_name="", department="x" * 65)
    assert not form.is_valid()
    assert "display_name" in form.errors and "At most 64 characters" in form.errors["department"][0]


def test_a_taken_upn_or_a_foreign_domain_is_refused():
    form = post(state(), username="grace", taken={"grace@contoso.com": "in use by Grace Hopper"})
    assert not form.is_valid() and "in use by Grace Hopper" in form.errors["username"][0]
    form = post(state(), domain="fabrikam.com")
    assert not form.is_valid() and "domain" in form.errors


def test_usage_location_change_and_a_licensed_user_cannot_lose_it():
    assert edit_of(usage_location="FR").changes == {"usageLocation": "FR"}
    form = post(state(), usage_location="")
    assert not form.is_valid() and "usage location" in form.errors["usage_location"][0]


# --- hybrid-synced users ------------------------------------------------------------------------------------


def test_synced_user_mastered_fields_are_not_fields_and_never_sent():
    st = state(user={"onPremisesSyncEnabled": True})
    form = post(st, job_title="Forged", display_name="Forged", username="forged", alias_add="x@contoso.com",
                manager="bob@contoso.com", usage_location="FR")  # fmt: skip
    assert form.is_valid(), form.errors
    for name in ("job_title", "display_name", "given_name", "business_phone", "username", "domain", "alias_add",
                 "alias_remove", "manager"):  # fmt: skip
        assert name not in form.fields
    edit = form.to_edit()
    assert edit.changes == {"usageLocation": "FR"}  # not mastered on-premises: still editable
    assert edit.add_aliases == [] and edit.manager_id is UNCHANGED
    rows = {row["name"]: row for row in form.profile_rows()}
    assert rows["job_title"]["field"] is None and rows["job_title"]["value"] == "Engineer"


# --- licences -----------------------------------------------------------------------------------------------


def test_licences_are_added_and_removed_per_sku_never_replaced():
    edit = edit_of(**{"lic_remove__" + E3: "on", "lic_add": [EXO]})
    assert edit.remove_licences == [E3]
    assert edit.add_licences == [LicenceChoice(EXO, [])]
    assert edit.change_plans == []  # a removed SKU's plan toggles are not a change


def test_a_group_assigned_licence_cannot_be_removed_here():
    form = post(state(), **{"lic_remove__" + FLOW: "on"})
    assert "lic_remove__" + FLOW not in form.fields
    assert form.is_valid() and form.to_edit().remove_licences == []
    [_e3, flow] = form.licence_rows()
    assert flow["remove"] is None and "VPN Users" in flow["lic"].why_not


def test_plan_toggles_of_a_kept_sku_and_of_an_added_one():
    # E3 has SWAY off; switch TEAMS off too and SWAY back on. EXO is added with its only plan off.
    edit = edit_of(
        **{"lic_plans__" + E3: [EXO_PLAN.id, SWAY.id], "lic_add": [EXO], "add_plans__" + EXO: None}
    )
    assert edit.change_plans == [LicenceChoice(E3, [TEAMS.id])]
    assert edit.add_licences == [LicenceChoice(EXO, [EXO_PLAN.id])]


def test_plans_the_page_did_not_show_are_left_alone():
    # A post without the plan toggles (a script, an old page): nothing is switched off by surprise.
    edit = edit_of(lic_shown=None, **{"lic_plans__" + E3: None, "lic_add": [EXO], "add_plans__" + EXO: None})
    assert edit.change_plans == [] and edit.add_licences == [LicenceChoice(EXO, [])]


def test_a_sku_without_free_units_is_refused_before_sending():
    form = post(state(), lic_add=[FULL])
    assert not form.is_valid()
    assert "Visio Plan 2: no unit left (3 of 3 assigned)" in form.errors["lic_add"][0]


def test_adding_a_licence_needs_a_usage_location():
    st = state(user={"usageLocation": None}, licences=[])
    form = post(st, lic_add=[EXO])
    assert not form.is_valid() and "usage_location" in form.errors
    assert edit_of(st, lic_add=[EXO], usage_location="GB").changes == {"usageLocation": "GB"}


def test_licences_section_that_could_not_be_read_offers_no_change():
    from graph.errors import GraphError

    st = state(errors={"licences": GraphError("boom")})
    form = post(st, lic_add=[EXO], **{"lic_remove__" + E3: "on"})
    assert "lic_add" not in form.fields and form.is_valid()
    edit = form.to_edit()
    assert (edit.add_licences, edit.remove_licences) == ([], [])


# --- groups, aliases, manager -------------------------------------------------------------------------------


def test_groups_remove_editable_add_joinable_and_copy_from():
    edit = edit_of(
        group_remove=["g-sec", "g-dl"], group_add=["g-m365", "g-mes"], copy_groups_from="bob@contoso.com"
    )
    assert edit.remove_group_ids == ["g-sec", "g-dl"]
    assert edit.add_group_ids == ["g-m365", "g-mes"]
    assert edit.copy_groups_from == "33333333-3333-4333-8333-333333333333"


@pytest.mark.parametrize(
    "field, group_id",
    [("group_remove", "g-dyn"), ("group_remove", "g-ad"), ("group_add", "g-dyn2"), ("group_add", "g-sec")],
)
def test_dynamic_synced_or_already_joined_groups_are_refused(field, group_id):
    form = post(state(), **{field: [group_id]})
    assert not form.is_valid() and field in form.errors


def test_copy_from_an_unknown_user_or_oneself_is_refused():
    assert "No user" in post(state(), copy_groups_from="nobody@contoso.com").errors["copy_groups_from"][0]
    assert "another user" in post(state(), copy_groups_from="ada@contoso.com").errors["copy_groups_from"][0]


def test_aliases_added_and_removed():
    edit = edit_of(alias_add="lovelace\nada.king@contoso.onmicrosoft.com", alias_remove=["al@contoso.com"])
    assert edit.add_aliases == ["lovelace@contoso.com", "ada.king@contoso.onmicrosoft.com"]
    assert edit.remove_aliases == ["al@contoso.com"]


def test_aliases_that_are_taken_foreign_or_already_hers_are_refused():
    form = post(
        state(), alias_add="sales@contoso.com", taken={"sales@contoso.com": "in use by the group Sales"}
    )
    assert "in use by the group Sales" in form.errors["alias_add"][0]
    assert (
        "not one of this tenant's verified domains"
        in post(state(), alias_add="a@fabrikam.com").errors["alias_add"][0]
    )
    assert "already an address" in post(state(), alias_add="ada.l@contoso.com").errors["alias_add"][0]


def test_manager_kept_changed_or_removed():
    assert edit_of().manager_id is UNCHANGED
    assert edit_of(manager="Grace Hopper <grace@contoso.com>").manager_id is UNCHANGED
    assert edit_of(manager="bob@contoso.com").manager_id == "33333333-3333-4333-8333-333333333333"
    assert edit_of(manager="").manager_id is None
    assert edit_of(state(manager=None), manager="").manager_id is UNCHANGED
    assert "another user" in post(state(), manager="ada@contoso.com").errors["manager"][0]


# --- the signed record and the summary ----------------------------------------------------------------------


def test_the_record_is_signed_per_user():
    snapshot = state().snapshot()
    token = forms_edit.sign_original(TENANT, snapshot)
    assert forms_edit.read_original(TENANT, USER_ID, token)["profile"]["jobTitle"] == "Engineer"
    with pytest.raises(StaleForm):
        forms_edit.read_original(TENANT, OTHER_ID, token)
    with pytest.raises(StaleForm):
        forms_edit.read_original(TENANT, USER_ID, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


def test_summary_says_exactly_which_skus_groups_and_values_change():
    form = post(state(), department="", job_title="Lead", lic_add=[EXO], group_add=["g-mes"],
                group_remove=["g-dl"], manager="", **{"lic_remove__" + E3: "on"})  # fmt: skip
    assert form.is_valid(), form.errors
    form.to_edit()
    lines = form.summary()
    assert ("Profile", "Job title: “Engineer” → “Lead”") in lines
    assert ("Profile", "Department: “R&D” → cleared") in lines
    assert ("Licences", "Add Exchange Online (Plan 1)") in lines
    assert ("Licences", "Remove Microsoft 365 E3") in lines
    assert ("Groups", "Add to Finance Approvers (Mail-enabled security)") in lines
    assert ("Groups", "Remove from Sales Team (Distribution)") in lines
    assert ("Manager", "Remove the manager (Grace Hopper)") in lines
    assert len(lines) == 7


def test_the_digest_follows_the_changes():
    one, two = edit_of(job_title="A"), edit_of(job_title="B")
    assert forms_edit.edit_digest(one) != forms_edit.edit_digest(two)
    assert forms_edit.edit_digest(one) == forms_edit.edit_digest(edit_of(job_title="A"))


def test_step_results_show_messages_and_named_skips_not_bare_ids():
    from users.actions.registry import Status
    from users.provisioning.types import StepResult
    from users.provisioning.views_edit import result_rows

    rows = result_rows([
        StepResult("licences", Status.SUCCESS, "Assigned Microsoft 365 E3.", ["req-1"], {"added": [E3]}),
        StepResult("copy-groups", Status.SKIPPED, "All Sales: dynamic membership.", details={"group_id": "g-dyn"}),
        StepResult("groups", Status.FAILED, "Boom", details={"skipped": [{"name": "G", "reason": "why"}]}),
    ])  # fmt: skip
    assert [(r["label"], r["status_label"]) for r in rows] == [
        ("Licences", "Succeeded"), ("Copy group memberships", "Skipped"), ("Groups", "Failed")]  # fmt: skip
    assert rows[0]["items"] == [] and rows[0]["request_ids"] == ["req-1"]
    assert rows[2]["items"] == [("skipped", "G: why")]


def test_held_licences_direct_by_group_and_not_yet_reported():
    from users.provisioning.edit_state import parse_licences, parse_skus

    skus = parse_skus([
        {"skuId": E3, "skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": 5, "warning": 1}, "consumedUnits": 2,
         "servicePlans": [{"servicePlanId": TEAMS.id.upper(), "servicePlanName": "TEAMS1"},
                          {"servicePlanId": SWAY.id, "servicePlanName": "SWAY", "appliesTo": "Company"}]},
        {"skuId": EXO, "skuPartNumber": "EXCHANGESTANDARD", "appliesTo": "Company"},
    ])  # fmt: skip
    assert [(s.sku_id, s.available, [p.id for p in s.plans]) for s in skus] == [(E3, 4, [TEAMS.id])]
    user = {
        "assignedLicenses": [{"skuId": E3, "disabledPlans": []}, {"skuId": FLOW, "disabledPlans": []},
                             {"skuId": EXO, "disabledPlans": [EXO_PLAN.id]}],
        "licenseAssignmentStates": [
            {"skuId": E3, "assignedByGroup": None, "disabledPlans": [TEAMS.id.upper()]},
            {"skuId": E3, "assignedByGroup": "g-sec", "disabledPlans": []},
            {"skuId": FLOW, "assignedByGroup": "g-sec", "disabledPlans": []},
        ],
    }  # fmt: skip
    held = {h.sku_id: h for h in parse_licences(user, skus, {"g-sec": "VPN Users"})}
    assert held[E3].direct and held[E3].disabled_plans == [TEAMS.id] and held[E3].via_groups == ["VPN Users"]
    assert not held[FLOW].direct and "Assigned through VPN Users" in held[FLOW].why_not
    assert held[EXO].direct and held[EXO].disabled_plans == [EXO_PLAN.id]  # assigned, no state yet
