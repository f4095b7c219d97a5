"""Edit user through the page, against the sandbox tenant: the form read live from Graph, review then save,
licences SKU by SKU, groups of every kind (distribution lists through Exchange), copying memberships with
each skip listed, aliases, manager, UPN rename, and the refusals (role, other tenant, anonymous, CSRF,
a forged or stale record, no units left)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from graph.sandbox.models import (
    SandboxGroup,
    SandboxGroupMember,
    SandboxLicenseAssignment,
    SandboxSku,
    SandboxTenant,
    SandboxUser,
)
from tenants.models import TechnicianProfile, Tenant, TenantDomain


@dataclass
class EditWorld:
    tenants: dict  # sandbox display name -> Tenant
    sandbox: dict  # sandbox display name -> SandboxTenant

    def user(self, name: str, *, synced=False, where=None, exclude=()) -> SandboxUser:
        """A licensed, enabled member of the named tenant (cloud-only unless ``synced``) holding no directory
        role (directly or through a role-assignable group): only an Admin may edit those."""
        users = SandboxUser.objects.filter(
            tenant=self.sandbox[name], user_type="Member", account_enabled=True, role_memberships__isnull=True
        ).exclude(group_memberships__group__is_assignable_to_role=True)
        for user in users.exclude(pk__in=[u.pk for u in exclude]).order_by("created_datetime", "id"):
            props = user.properties
            if bool(props.get("onPremisesSyncEnabled")) != synced or not props.get("assignedLicenses"):
                continue
            if user.licenses.filter(sku__sku_part_number__in=["SPB", "SPE_E3", "SPE_E5"]).exists() and (
                where is None or where(user)
            ):
                return user
        raise AssertionError(f"no such user in {name}")

    def group(self, tenant_name: str, display_name: str) -> SandboxGroup:
        return SandboxGroup.objects.get(tenant=self.sandbox[tenant_name], display_name=display_name)

    def url(self, user: SandboxUser, name: str = "users:edit") -> str:
        tenant = self.tenants[user.tenant.display_name]
        return reverse(name, args=[tenant.slug, user.pk])

    def cache(self, user: SandboxUser):
        from users.sync import apply_user_record

        user.refresh_from_db()
        return apply_user_record(self.tenants[user.tenant.display_name], {**user.properties, "id": str(user.pk)},
                                 partial=False)  # fmt: skip


@pytest.fixture
def world(sandbox_world, sandbox_connection):
    tenants, sandbox = {}, {}
    for st in SandboxTenant.objects.filter(is_partner=False):
        tenant = Tenant.objects.create(
            tenant_id=st.pk, connection=sandbox_connection, display_name=st.display_name,
            default_domain=st.domains.get(is_default=True).name, has_exchange=True,
        )  # fmt: skip
        for domain in st.domains.all():
            TenantDomain.objects.create(tenant=tenant, name=domain.name, is_default=domain.is_default,
                                        is_initial=domain.is_initial)  # fmt: skip
        tenants[st.display_name], sandbox[st.display_name] = tenant, st
    return EditWorld(tenants, sandbox)


def technician(django_user_model, role, *, tenants=None, csrf=False) -> Client:
    user = django_user_model.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:6]}", password="x")
    scope = TechnicianProfile.Scope.ONLY if tenants else TechnicianProfile.Scope.ALL
    profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
    if tenants:
        profile.tenants.set(tenants)
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def editor(django_user_model):
    return technician(django_user_model, TechnicianProfile.Role.EDITOR)


def browser_data(response) -> dict:
    """What a browser posts for the rendered form: every field's value, ticked checkboxes only."""
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, False, [], ""):
            continue
        data[name] = "on" if value is True else value
    return data


def open_form(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return browser_data(response)


def review(client, url, data, **changes):
    data = dict(data)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    response = client.post(url, {**data, "step": "review"})
    return data, response


def save(client, url, data, **changes):
    """Review, check nothing was sent yet, then confirm: the response after saving."""
    data, response = review(client, url, data, **changes)
    assert response.status_code == 200, response.context["form"].errors if response.context else response
    assert response.context.get("summary"), response.context.get("notice") or "a review lists the changes"
    response = client.post(url, {**data, "step": "apply", "reviewed": response.context["digest"]})
    assert response.status_code == 200
    assert response.context["results"], "saving shows each step's result"
    return response


def statuses(response) -> list[tuple[str, str, str]]:
    return [(r["step"], r["status"], r["message"]) for r in response.context["results"]]


def licences_of(user) -> dict[str, list[str]]:
    return {
        str(a.sku.sku_id): sorted(a.disabled_plans)
        for a in SandboxLicenseAssignment.objects.filter(user=user)
    }


# --- the page -------------------------------------------------------------------------------------------------


def test_the_form_is_read_live_from_graph_not_from_the_cache(world, editor):
    user = world.user("Northwind Traders")
    row = world.cache(user)
    row.job_title = "Stale cached title"
    row.save()
    response = editor.get(world.url(user))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["job_title"].value() == user.properties.get("jobTitle", "")
    assert form["username"].value() == user.properties["userPrincipalName"].split("@")[0]
    page = response.content.decode()
    assert "Stale cached title" not in page
    for licence in response.context["state"].licences:
        assert licence.name in page
    assert 'name="original"' in page and "Review changes" in page


def test_dynamic_and_synced_groups_are_shown_but_not_editable(world, editor):
    user = world.user("Fabrikam Inc", synced=True, where=lambda u: u.group_memberships.filter(
        group__on_premises_sync_enabled=True).exists())  # fmt: skip
    response = editor.get(world.url(user))
    page = response.content.decode()
    synced = SandboxGroup.objects.filter(memberships__user=user, on_premises_sync_enabled=True).first()
    assert synced.display_name in page and "Not editable: synced from on-premises AD" in page
    assert f'name="group_remove" value="{synced.pk}"' not in page
    dynamic = world.group("Fabrikam Inc", "All Sales (dynamic)")
    assert f'value="{dynamic.pk}" id="group-add-{dynamic.pk}" disabled' in page
    # Hybrid-synced: the mastered fields are shown read-only with the reason, not as inputs.
    assert 'name="job_title"' not in page and 'name="username"' not in page and 'name="alias_add"' not in page
    assert "change it there, Entra Connect copies it here" in page


def test_profile_diff_clearing_and_a_concurrent_change_is_not_overwritten(world, editor):
    user = world.user("Northwind Traders", where=lambda u: u.properties.get("department"))
    url = world.url(user)
    data = open_form(editor, url)
    # Someone changes the city in Entra while the page is open: our save must not put the old one back.
    user.properties = {**user.properties, "city": "Changed elsewhere"}
    user.save()
    response = save(editor, url, data, job_title="Chief Tester", department="", business_phone="")
    assert statuses(response)[0][:2] == ("profile", "success")
    user.refresh_from_db()
    assert user.properties["jobTitle"] == "Chief Tester"
    assert user.properties["department"] is None and user.properties["businessPhones"] == []
    assert user.properties["city"] == "Changed elsewhere"
    # The refreshed form shows the saved values.
    assert response.context["form"]["job_title"].value() == "Chief Tester"


def test_nothing_is_sent_before_the_review_is_confirmed(world, editor):
    user = world.user("Northwind Traders")
    url = world.url(user)
    data, response = review(editor, url, open_form(editor, url), job_title="Not yet")
    assert response.context["summary"] and "results" not in response.context
    user.refresh_from_db()
    assert user.properties.get("jobTitle") != "Not yet"
    # "Save" with a form that no longer matches the reviewed list: reviewed again, still nothing sent.
    changed = {**data, "job_title": "Something else", "step": "apply", "reviewed": response.context["digest"]}
    response = editor.post(url, changed)
    assert response.context["changed_since_review"] and "results" not in response.context
    user.refresh_from_db()
    assert user.properties.get("jobTitle") not in ("Not yet", "Something else")


def test_a_forged_or_stale_record_sends_nothing(world, editor):
    user = world.user("Northwind Traders")
    url = world.url(user)
    data = open_form(editor, url)
    response = editor.post(url, {**data, "original": data["original"][:-3] + "xyz", "job_title": "Forged",
                                 "step": "apply"})  # fmt: skip
    assert response.status_code == 422 and "nothing was sent" in response.context["notice"]
    other = world.user("Northwind Traders", exclude=[user])
    response = editor.post(world.url(other), {**data, "job_title": "Forged", "step": "apply"})
    assert response.status_code == 422
    for target in (user, other):
        target.refresh_from_db()
        assert target.properties.get("jobTitle") != "Forged"


def test_upn_rename_with_the_live_check(world, editor):
    user = world.user("Northwind Traders")
    other = world.user("Northwind Traders", exclude=[user])
    world.cache(other)
    url, domain = world.url(user), user.properties["userPrincipalName"].split("@")[1]
    taken = other.properties["userPrincipalName"].split("@")[0]
    check = editor.get(
        world.url(user, "users:edit-check"), {"what": "upn", "username": taken, "domain": domain}
    )
    assert "in use by" in check.content.decode()
    check = editor.get(world.url(user, "users:edit-check"), {"what": "upn", "username": "renamed.person",
                                                           "domain": domain})  # fmt: skip
    assert "is free" in check.content.decode()
    data = open_form(editor, url)
    _data, response = review(editor, url, data, username=taken)
    assert response.status_code == 422 and "in use by" in str(response.context["form"].errors["username"])
    response = save(editor, url, data, username="renamed.person")
    assert statuses(response)[0][:2] == ("profile", "success")
    user.refresh_from_db()
    assert user.properties["userPrincipalName"] == f"renamed.person@{domain}"


# --- licences -------------------------------------------------------------------------------------------------


def test_licences_sku_by_sku_with_plans(world, editor):
    user = world.user("Fabrikam Inc", where=lambda u: u.licenses.count() >= 2)
    held = licences_of(user)
    skus = {str(s.sku_id): s for s in SandboxSku.objects.filter(tenant=user.tenant)}
    kept, removed = sorted(held, key=lambda s: -len(skus[s].service_plans))[:2]
    url = world.url(user)
    page = editor.get(url)
    data = browser_data(page)
    # A SKU the user does not hold, with free units and at least two service plans.
    added = next(s.sku_id for s in page.context["state"].addable_skus if s.available and len(s.plans) > 1)
    kept_plans = [str(p["servicePlanId"]).lower() for p in skus[kept].service_plans]
    added_plans = [str(p["servicePlanId"]).lower() for p in skus[added].service_plans]
    _data, response = review(editor, url, data, **{
        "lic_remove__" + removed: "on", "lic_add": [added],
        "lic_plans__" + kept: kept_plans[1:],  # switch the first plan of the kept SKU off
        "add_plans__" + added: added_plans[1:],  # and the first of the added one
    })  # fmt: skip
    assert response.status_code == 200, response.context["form"].errors
    lines = [line for section, line in response.context["summary"] if section == "Licences"]
    names = {s: response.context["state"].sku(s).name for s in (kept, removed, added)}
    assert f"Remove {names[removed]}" in lines
    assert any(line.startswith(f"Add {names[added]}") for line in lines)
    assert any(line.startswith(f"{names[kept]}: switch off") for line in lines) and len(lines) == 3
    response = save(editor, url, data, **{
        "lic_remove__" + removed: "on", "lic_add": [added],
        "lic_plans__" + kept: kept_plans[1:], "add_plans__" + added: added_plans[1:],
    })  # fmt: skip
    assert [s for s in statuses(response) if s[0] == "licences"][0][1] == "success", statuses(response)
    after = licences_of(user)
    assert set(after) == (set(held) - {removed}) | {added}
    assert after[kept] == sorted(set(held[kept]) | {kept_plans[0]})
    assert after[added] == [added_plans[0]]
    for other in set(held) - {removed, kept}:
        assert after[other] == held[other]  # untouched SKUs keep their plans


def test_a_licence_with_no_units_left_is_refused_before_sending(world, editor):
    user = world.user("Northwind Traders", where=lambda u: not u.licenses.filter(
        sku__sku_part_number="EXCHANGESTANDARD").exists())  # fmt: skip
    sku = SandboxSku.objects.get(tenant=user.tenant, sku_part_number="EXCHANGESTANDARD")
    sku.prepaid_enabled = sku.assignments.count()  # every unit taken
    sku.save()
    before = licences_of(user)
    url = world.url(user)
    _data, response = review(editor, url, open_form(editor, url), lic_add=[str(sku.sku_id)])
    assert response.status_code == 422
    assert "no unit left" in str(response.context["form"].errors["lic_add"])
    assert licences_of(user) == before


# --- groups ---------------------------------------------------------------------------------------------------


def test_groups_of_every_kind_added_and_removed(world, editor):
    user = world.user("Northwind Traders", where=lambda u: u.group_memberships.filter(
        group__display_name="All Company").exists() and not u.group_memberships.filter(
        group__display_name__in=["SG-VPN-Users", "Marketing Team", "Sales Team", "Finance Approvers"]).exists())  # fmt: skip
    join = {name: world.group("Northwind Traders", name)
            for name in ("SG-VPN-Users", "Marketing Team", "Sales Team", "Finance Approvers")}  # fmt: skip
    url = world.url(user)
    response = save(editor, url, open_form(editor, url), group_add=[str(g.pk) for g in join.values()])
    results = statuses(response)
    assert sorted(m for s, st, m in results if s == "groups" and st == "success") == sorted(
        f"Added to {g.display_name} ({kind})." for g, kind in zip(
            join.values(), ("Security", "Microsoft 365", "Distribution", "Mail-enabled security"), strict=True)
    ), results  # fmt: skip
    members = set(SandboxGroupMember.objects.filter(user=user).values_list("group__display_name", flat=True))
    assert set(join) <= members  # the distribution list and mail-enabled security group through Exchange
    # Now leave a distribution list (Exchange) and a Microsoft 365 group (Graph).
    leave = [join["Sales Team"], world.group("Northwind Traders", "All Company")]
    response = save(editor, url, open_form(editor, url), group_remove=[str(g.pk) for g in leave])
    assert [st for s, st, m in statuses(response) if s == "groups"] == ["success", "success"], statuses(
        response
    )
    members = set(SandboxGroupMember.objects.filter(user=user).values_list("group__display_name", flat=True))
    assert not members & {"Sales Team", "All Company"} and "SG-VPN-Users" in members


def test_copy_group_memberships_lists_every_skip_with_its_reason(world, editor):
    fabrikam = "Fabrikam Inc"
    source = world.user(fabrikam, synced=True, where=lambda u: {"All Sales (dynamic)", "GG-All-Staff",
                        "All Company", "Sales Team"} <= set(u.group_memberships.values_list(
                        "group__display_name", flat=True)))  # fmt: skip
    target = world.user(fabrikam, where=lambda u: u.group_memberships.filter(
        group__display_name="All Company").exists() and not u.group_memberships.filter(
        group__display_name="Sales Team").exists())  # fmt: skip
    world.cache(source)
    url = world.url(target)
    data = open_form(editor, url)
    response = save(editor, url, data, copy_groups_from=source.properties["userPrincipalName"])
    copied = {m.split(":")[0]: (st, m) for s, st, m in statuses(response) if s == "copy-groups"}
    assert copied["All Sales (dynamic)"][0] == "skipped" and "dynamic" in copied["All Sales (dynamic)"][1]
    assert copied["GG-All-Staff"][0] == "skipped" and "on-premises" in copied["GG-All-Staff"][1]
    assert copied["All Company"][0] == "skipped" and "already a member" in copied["All Company"][1]
    assert any(st == "success" and "Sales Team" in m for st, m in copied.values())
    assert SandboxGroupMember.objects.filter(user=target, group__display_name="Sales Team").exists()
    page = response.content.decode()
    assert "Copy group memberships" in page and "dynamic membership" in page


# --- aliases and manager ----------------------------------------------------------------------------------------


def test_aliases_added_and_removed(world, editor):
    user = world.user("Northwind Traders", where=lambda u: any(
        p.startswith("smtp:") for p in u.properties.get("proxyAddresses") or []))  # fmt: skip
    old = next(p[5:] for p in user.properties["proxyAddresses"] if p.startswith("smtp:"))
    domain = user.properties["userPrincipalName"].split("@")[1]
    url = world.url(user)
    response = save(editor, url, open_form(editor, url), alias_add="edit.alias.test", alias_remove=[old])
    assert {s: st for s, st, m in statuses(response)}.get("aliases") == "success", statuses(response)
    user.refresh_from_db()
    proxies = [p.lower() for p in user.properties["proxyAddresses"]]
    assert f"smtp:edit.alias.test@{domain}" in proxies and f"smtp:{old.lower()}" not in proxies


def test_manager_set_then_removed(world, editor):
    user = world.user("Northwind Traders")
    boss = world.user("Northwind Traders", exclude=[user], where=lambda u: u.pk != user.manager_id)
    world.cache(boss)
    url = world.url(user)
    response = save(editor, url, open_form(editor, url), manager=boss.properties["userPrincipalName"])
    assert [st for s, st, m in statuses(response) if s == "manager"] == ["success"], statuses(response)
    user.refresh_from_db()
    assert user.manager_id == boss.pk
    data = open_form(editor, url)
    assert data["manager"] == boss.properties["userPrincipalName"]
    response = save(editor, url, data, manager=None)
    assert [st for s, st, m in statuses(response) if s == "manager"] == ["success"], statuses(response)
    user.refresh_from_db()
    assert user.manager_id is None


# --- refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [TechnicianProfile.Role.READER, TechnicianProfile.Role.HELPDESK])
def test_roles_without_users_edit_are_refused(world, django_user_model, role):
    client = technician(django_user_model, role)
    user = world.user("Northwind Traders")
    for name in ("users:edit", "users:edit-check", "users:edit-people"):
        assert client.get(world.url(user, name)).status_code == 403
    assert client.post(world.url(user), {"job_title": "x", "step": "apply"}).status_code == 403
    world.cache(user)
    page = client.get(reverse("users:detail", args=[world.tenants["Northwind Traders"].slug, user.pk]))
    assert "data-edit-user-link" not in page.content.decode()


def test_another_tenant_is_not_revealed(world, django_user_model):
    client = technician(
        django_user_model, TechnicianProfile.Role.EDITOR, tenants=[world.tenants["Fabrikam Inc"]]
    )
    user = world.user("Northwind Traders")
    assert client.get(world.url(user)).status_code == 404
    assert client.post(world.url(user), {"step": "apply"}).status_code == 404
    assert client.get(reverse("users:edit", args=["no-such-tenant.example", user.pk])).status_code == 404


def test_an_unknown_user_is_not_found(world, editor):
    tenant = world.tenants["Northwind Traders"]
    assert editor.get(reverse("users:edit", args=[tenant.slug, uuid.uuid4()])).status_code == 404


def test_suggestions_and_alias_check(world, editor):
    user = world.user("Northwind Traders")
    other = world.user("Northwind Traders", exclude=[user])
    world.cache(user), world.cache(other)
    name = other.properties["displayName"]
    options = editor.get(world.url(user, "users:edit-people"), {"manager": name[:5]}).content.decode()
    assert f'value="{other.properties["userPrincipalName"]}"' in options
    assert user.properties["userPrincipalName"] not in options  # never suggested as their own manager
    domain = user.properties["userPrincipalName"].split("@")[1]
    taken = other.properties["userPrincipalName"]
    check = editor.get(world.url(user, "users:edit-check"),
                       {"what": "aliases", "alias_add": f"{taken}\nfresh.alias", "domain": domain}).content.decode()  # fmt: skip
    assert f"{taken.lower()}: in use by" in check.lower()


def test_anonymous_is_sent_to_sign_in(world, client):
    user = world.user("Northwind Traders")
    response = client.get(world.url(user))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_csrf_is_required(world, django_user_model):
    client = technician(django_user_model, TechnicianProfile.Role.EDITOR, csrf=True)
    user = world.user("Northwind Traders")
    url = world.url(user)
    data = browser_data(client.get(url))
    assert client.post(url, {**data, "job_title": "No token", "step": "review"}).status_code == 403


def test_the_edit_link_on_view_user_and_more_info(world, editor):
    user = world.user("Northwind Traders")
    world.cache(user)
    tenant = world.tenants["Northwind Traders"]
    for page in (reverse("users:detail", args=[tenant.slug, user.pk]),
                 reverse("users:panel", args=[tenant.slug, user.pk])):  # fmt: skip
        assert f'href="{world.url(user)}" data-edit-user-link' in editor.get(page).content.decode()
    menu = editor.get(
        reverse("users:action-menu"), {"user": f"{tenant.tenant_id}/{user.pk}"}, HTTP_HX_REQUEST="true"
    )
    assert f'href="{world.url(user)}" data-edit-user-link' in menu.content.decode()
