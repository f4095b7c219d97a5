"""The privileged-target guard's Graph requests (``responses``): Microsoft's isPrivileged flag read from the
beta role definitions once per tenant and cached, the shipped list when that read is refused, the user's
roles from transitiveMemberOf (roles through role-assignable groups included) in $batch calls of 20."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from tests.actions.unitkit import BATCH_URL, GRAPH, context, graph_error, make_tenant, make_user, targets
from users.actions import guard
from users.actions.privileged_roles import MICROSOFT_PRIVILEGED, SHIPPED

pytestmark = pytest.mark.django_db

DEFINITIONS_URL = f"{GRAPH}/beta/roleManagement/directory/roleDefinitions"
DOMAIN_NAME_ADMIN = "8329153b-31d0-4727-b945-745eb3bc5f31"
FUTURE_ROLE = "0f0f0f0f-1111-4222-8333-444455556666"  # a role Microsoft labels privileged after we shipped


@pytest.fixture(autouse=True)
def _unit_transport(settings):
    settings.GRAPH_TRANSPORT_ADAPTERS = {}
    settings.GRAPH_DRY_RUN = False


@pytest.fixture
def editor(django_user_model):
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username="ed", password="x")
    TechnicianProfile.objects.create(user=user, role="editor", scope="all")
    return user


def roles_answer(held: dict[str, list[tuple[str, str]]], calls: list | None = None):
    """$batch callback: each transitiveMemberOf read answers the roles ``held`` by that user id."""

    def callback(request):
        payload = json.loads(request.body)
        if calls is not None:
            calls.append(payload)
        answers = []
        for item in payload["requests"]:
            user_id = item["url"].split("/")[2]
            value = [{"@odata.type": "#microsoft.graph.directoryRole", "id": f"role-{t}", "displayName": n,
                      "roleTemplateId": t} for t, n in held.get(user_id, [])]  # fmt: skip
            answers.append({"id": item["id"], "status": 200, "body": {"value": value}})
        return 200, {}, json.dumps({"responses": answers})

    return callback


def definition(template: str, name: str) -> dict:
    return {"id": template, "templateId": template, "displayName": name, "isPrivileged": True}


@responses.activate
def test_reads_roles_transitively_in_batches_of_20_and_definitions_once_per_tenant(editor):
    tenant = make_tenant()
    users = [make_user(tenant, n) for n in range(25)]
    future, domain = users[3], users[21]
    held = {str(future.user_id): [(FUTURE_ROLE, "Future Role")],
            str(domain.user_id): [(DOMAIN_NAME_ADMIN, "Domain Name Administrator")]}  # fmt: skip
    calls: list = []
    responses.add_callback(responses.POST, BATCH_URL, callback=roles_answer(held, calls))
    responses.add(responses.GET, DEFINITIONS_URL, json={"value": [definition(FUTURE_ROLE, "Future Role")]})
    ctx = context(tenant, editor)

    refused = guard.check_targets(ctx, targets(tenant, users))
    assert refused == {
        str(future.user_id): f"Needs the Admin role because {future.user_principal_name} holds Future Role.",
        str(domain.user_id): (
            f"Needs the Admin role because {domain.user_principal_name} holds Domain Name Administrator."
        ),
    }
    assert [len(c["requests"]) for c in calls] == [20, 5]
    item = calls[0]["requests"][0]
    assert item["method"] == "GET" and item["headers"]["ConsistencyLevel"] == "eventual"
    path, query = item["url"].split("?")
    assert path == f"/users/{users[0].user_id}/transitiveMemberOf/microsoft.graph.directoryRole"
    assert parse_qs(query) == {"$select": ["id,displayName,roleTemplateId"], "$top": ["999"]}
    definitions = [c for c in responses.calls if c.request.url.startswith(DEFINITIONS_URL)]
    assert len(definitions) == 1
    query = parse_qs(urlsplit(definitions[0].request.url).query)
    assert query == {
        "$filter": ["isPrivileged eq true"],
        "$select": ["id,templateId,displayName,isPrivileged"],
    }

    # A second check within the hour: roles are read live again, the definitions come from the cache.
    guard.check_targets(ctx, targets(tenant, [future]))
    assert len([c for c in responses.calls if c.request.url.startswith(DEFINITIONS_URL)]) == 1
    # Another tenant has definitions of its own.
    other = make_tenant("Fabrikam")
    guard.check_targets(context(other, editor), targets(other, [make_user(other, 1, user_id=future.user_id)]))
    assert len([c for c in responses.calls if c.request.url.startswith(DEFINITIONS_URL)]) == 2


@responses.activate
def test_shipped_list_when_definitions_cannot_be_read(editor):
    tenant = make_tenant()
    domain, future, plain = make_user(tenant, 1), make_user(tenant, 2), make_user(tenant, 3)
    held = {str(domain.user_id): [(DOMAIN_NAME_ADMIN, "Domain Name Administrator")],
            str(future.user_id): [(FUTURE_ROLE, "Future Role")],
            str(plain.user_id): [("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers")]}  # fmt: skip
    responses.add_callback(responses.POST, BATCH_URL, callback=roles_answer(held))
    responses.add(responses.GET, DEFINITIONS_URL, status=403,
                  json=graph_error("Authorization_RequestDenied", "Insufficient privileges."))  # fmt: skip
    refused = guard.check_targets(context(tenant, editor), targets(tenant, [domain, future, plain]))
    assert set(refused) == {str(domain.user_id)}  # Directory Readers and an unknown role are not privileged
    assert "holds Domain Name Administrator" in refused[str(domain.user_id)]
    # The fallback is remembered for a short while only, so a granted permission is noticed soon.
    from django.core.cache import cache

    assert cache.get(f"{guard.CACHE_PREFIX}{tenant.pk}") == SHIPPED


@responses.activate
def test_fails_closed_when_a_users_roles_are_unreadable_or_paged(editor):
    tenant = make_tenant()
    denied, paged = make_user(tenant, 1), make_user(tenant, 2)

    def callback(request):
        answers = []
        for item in json.loads(request.body)["requests"]:
            if str(denied.user_id) in item["url"]:
                answers.append(
                    {
                        "id": item["id"],
                        "status": 403,
                        "body": graph_error("Authorization_RequestDenied", "Insufficient privileges."),
                    }
                )
            else:
                answers.append(
                    {
                        "id": item["id"],
                        "status": 200,
                        "body": {
                            "value": [],
                            "@odata.nextLink": f"{GRAPH}/v1.0/users/x/transitiveMemberOf?$skiptoken=abc",
                        },
                    }
                )
        return 200, {}, json.dumps({"responses": answers})  # fmt: skip

    responses.add_callback(responses.POST, BATCH_URL, callback=callback)
    refused = guard.check_targets(context(tenant, editor), targets(tenant, [denied, paged]))
    assert (
        "could not check" in refused[str(denied.user_id)]
        and "Insufficient privileges" in refused[str(denied.user_id)]
    )
    assert "could not check" in refused[str(paged.user_id)]
    assert not [c for c in responses.calls if c.request.url.startswith(DEFINITIONS_URL)]  # no role: no need


@responses.activate
def test_admin_on_the_tenant_sends_nothing(django_user_model):
    tenant = make_tenant()
    boss = django_user_model.objects.create_superuser(username="boss", password="x")
    assert guard.check_targets(context(tenant, boss), targets(tenant, [make_user(tenant, 1)])) == {}
    assert not responses.calls


def test_shipped_list_names_every_role_the_issue_lists():
    for template in (
        "4ba39ca4-527c-499a-b93d-d9b492c50246",  # Partner Tier1 Support
        "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8",  # Partner Tier2 Support
        DOMAIN_NAME_ADMIN,
        "be2f45a1-457d-42af-a067-6ec1fa63bc45",  # External Identity Provider Administrator
        "9360feb5-f418-4baa-8175-e2a00bac4301",  # Directory Writers
        "7698a772-787b-4ac8-901f-60d6b08affd2",  # Cloud Device Administrator
        "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
    ):
        assert template in MICROSOFT_PRIVILEGED
    assert all(t == t.lower() and len(t) == 36 for t in SHIPPED)
