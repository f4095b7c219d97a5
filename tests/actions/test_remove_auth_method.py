"""Remove sign-in method: the exact Graph requests (``responses``), the run against the sandbox with its state
checked, the mobile-with-alternate refusal explained, the method pre-chosen from View user's Remove button,
the confirmation naming it (phone masked), and refusals by role, on privileged targets and out of scope."""

from __future__ import annotations

import pytest
import responses
from django.urls import reverse

from tests.actions.unitkit import GRAPH, context, make_tenant, make_user, targets
from users.actions import registry
from users.actions.auth_method_forms import mask_phone, method_title, parse_choice
from users.actions.registry import Status
from users.models import AuditEntry

USER = "11111111-1111-4111-8111-111111111111"
AUTHENTICATOR = "microsoftAuthenticatorAuthenticationMethod"


def test_phone_masked_and_titles():
    assert mask_phone("+1 4255550123") == "+1 •••••••123"
    assert mask_phone("+44 20 7946 0958") == "+44 •• •••• •958"
    phone = {"type": "phoneAuthenticationMethod", "label": "Phone", "display_name": "",
             "detail": "+1 4255550123 · mobile"}  # fmt: skip
    assert method_title(phone) == "Phone (+1 •••••••123 · mobile)"
    with pytest.raises(ValueError):
        parse_choice("passwordAuthenticationMethod:28c10230-6103-485e-b985-444c60001490")
    with pytest.raises(ValueError):
        parse_choice("fido2AuthenticationMethod:../x/y")


@pytest.mark.django_db
@responses.activate
def test_exact_graph_requests(django_user_model):
    tenant = make_tenant()
    user = make_user(tenant, user_id=USER)
    ctx = context(tenant, django_user_model.objects.create_superuser(username="boss", password="x"))
    methods = f"{GRAPH}/v1.0/users/{USER}/authentication/methods"
    responses.get(methods, json={"value": [
        {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "pw"},
        {"@odata.type": f"#microsoft.graph.{AUTHENTICATOR}", "id": "app1", "displayName": "Pixel 8"},
    ]})  # fmt: skip
    responses.delete(
        f"{GRAPH}/v1.0/users/{USER}/authentication/microsoftAuthenticatorMethods/app1", status=204
    )
    [target] = targets(tenant, [user])
    outcome = registry.get("remove-auth-method").run(ctx, target, {"method": f"{AUTHENTICATOR}:app1"})
    assert (
        outcome.status == Status.SUCCESS and outcome.message == "Removed Microsoft Authenticator (Pixel 8)."
    )
    assert [(c.request.method, c.request.url.split("?")[0]) for c in responses.calls] == [
        ("GET", methods),
        ("DELETE", f"{GRAPH}/v1.0/users/{USER}/authentication/microsoftAuthenticatorMethods/app1"),
    ]
    # A method no longer listed is a skip: nothing is deleted.
    gone = registry.get("remove-auth-method").run(ctx, target, {"method": f"{AUTHENTICATOR}:other"})
    assert gone.status == Status.SKIPPED and len(responses.calls) == 3


def _holder(world, method_type, **filters):
    from graph.sandbox.models import SandboxUser

    return (SandboxUser.objects.filter(tenant__display_name="Northwind Traders", deleted_datetime__isnull=True,
                                       user_type="Member", auth_methods__method_type=method_type, **filters)
            .order_by("created_datetime", "id").distinct())  # fmt: skip


def _post(client, world, row, method):
    return client.post(reverse("users:action", args=["remove-auth-method"]), {
        "user": world.value(row), "confirmed": "1", "expected_count": "1", "method": method},
        HTTP_HX_REQUEST="true")  # fmt: skip


def test_helpdesk_removes_one_authenticator_on_the_sandbox(action_world, role_client):
    from graph.sandbox.models import SandboxAuthMethod

    person = _holder(action_world, AUTHENTICATOR, role_memberships__isnull=True).first()
    row = action_world.cache(person)
    method = SandboxAuthMethod.objects.filter(user=person, method_type=AUTHENTICATOR).first()
    others = set(
        SandboxAuthMethod.objects.filter(user=person).exclude(pk=method.pk).values_list("pk", flat=True)
    )
    client = role_client("helpdesk")
    value = f"{AUTHENTICATOR}:{method.id}"
    # View user's Remove button opens the modal with this method chosen, named with its device.
    page = client.get(reverse("users:action", args=["remove-auth-method"]),
                      {"user": action_world.value(row), "method": value}, HTTP_HX_REQUEST="true")  # fmt: skip
    text = page.content.decode()
    assert page.status_code == 200 and f'value="{value}"' in text
    assert "checked" in text.split(f'value="{value}"')[1].split(">")[0]
    assert "Microsoft Authenticator" in text and "Northwind Traders" in text
    response = _post(client, action_world, row, value)
    assert 'data-result="success"' in response.content.decode()
    assert not SandboxAuthMethod.objects.filter(pk=method.pk).exists()
    assert set(SandboxAuthMethod.objects.filter(user=person).values_list("pk", flat=True)) == others
    entry = AuditEntry.objects.get()
    assert entry.result == "success" and entry.parameters == {"method": value}
    # Again: the method is gone, a skip that changes nothing.
    again = _post(client, action_world, row, value)
    assert (
        'data-result="skipped"' in again.content.decode() and "no longer registered" in again.content.decode()
    )


def test_mobile_with_an_alternate_is_refused_with_the_reason(action_world, role_client):
    from graph.sandbox.models import SandboxAuthMethod

    person = _holder(action_world, "phoneAuthenticationMethod", role_memberships__isnull=True,
                     auth_methods__properties__phoneType="alternateMobile").first()  # fmt: skip
    mobile = SandboxAuthMethod.objects.get(user=person, properties__phoneType="mobile")
    response = _post(role_client("helpdesk"), action_world, action_world.cache(person),
                     f"phoneAuthenticationMethod:{mobile.id}")  # fmt: skip
    text = response.content.decode()
    assert 'data-result="failed"' in text and "alternate mobile" in text
    assert SandboxAuthMethod.objects.filter(pk=mobile.pk).exists()


def test_refusals_by_role_privileged_target_and_scope(action_world, role_client):
    from graph.sandbox.models import SandboxAuthMethod

    person = _holder(action_world, AUTHENTICATOR, role_memberships__isnull=True).first()
    row = action_world.cache(person)
    value = f"{AUTHENTICATOR}:{SandboxAuthMethod.objects.filter(user=person, method_type=AUTHENTICATOR).first().id}"
    assert _post(role_client("reader"), action_world, row, value).status_code == 403
    other = next(t for t in action_world.tenants.values() if t.pk != row.tenant.pk)
    assert _post(role_client("admin", tenants=[other]), action_world, row, value).status_code == 404
    privileged = _holder(action_world, AUTHENTICATOR, role_memberships__isnull=False).first()
    assert privileged is not None, "the seed gives a role holder an Authenticator"
    held = SandboxAuthMethod.objects.filter(user=privileged, method_type=AUTHENTICATOR).first()
    refused = _post(role_client("helpdesk"), action_world, action_world.cache(privileged),
                    f"{AUTHENTICATOR}:{held.id}")  # fmt: skip
    assert 'data-result="success"' not in refused.content.decode() and "Admin" in refused.content.decode()
    assert SandboxAuthMethod.objects.filter(pk=held.pk).exists()
    assert SandboxAuthMethod.objects.filter(user=person, method_type=AUTHENTICATOR).exists()
    assert not AuditEntry.objects.filter(result="success").exists()
