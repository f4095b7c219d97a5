"""The View user page and its sections against the sandbox: header from the cache, five directory
sections from one $batch, the others on their own, per-section errors, P1 gating and access."""

from __future__ import annotations

import uuid

import pytest

from graph.batch import BatchResult
from graph.client import GraphClient
from graph.errors import GraphError, TransientError

from .conftest import cache_row


def _url(tenant, user, suffix=""):
    return f"/users/{tenant.slug}/{user.pk}/{suffix}"


@pytest.fixture
def fabrikam_user(activity_world):
    from graph.sandbox.models import SandboxDrive, SandboxMailbox, SandboxRoleMember, SandboxSignIn

    user = activity_world.member_with(
        "Fabrikam Inc",
        lambda u: (
            SandboxRoleMember.objects.filter(user=u).exists()
            and SandboxSignIn.objects.filter(user=u).exists()
            and SandboxMailbox.objects.filter(user=u).exists()
            and SandboxDrive.objects.filter(user=u).exists()
        ),
    )
    tenant = activity_world.tenants["Fabrikam Inc"]
    cache_row(tenant, user)
    return tenant, user


@pytest.fixture
def graph_calls(monkeypatch):
    calls = []
    real = GraphClient.request

    def counting(self, method, path, **kwargs):
        calls.append((method, path))
        return real(self, method, path, **kwargs)

    monkeypatch.setattr(GraphClient, "request", counting)
    return calls


def test_page_renders_the_cached_header_and_placeholders_without_calling_graph(
    fabrikam_user, viewer_client, graph_calls
):
    tenant, user = fabrikam_user
    response = viewer_client.get(_url(tenant, user))
    assert response.status_code == 200
    html = response.content.decode()
    assert user.display_name in html and user.properties["userPrincipalName"] in html
    assert "state-on" in html and 'data-copy="' + user.properties["userPrincipalName"] + '"' in html
    assert 'id="user-detail-actions"' in html
    for name in ("mfa", "sign-ins", "mailbox", "onedrive"):
        assert f'hx-get="{_url(tenant, user, f"sections/{name}/")}"' in html
    assert f'hx-get="{_url(tenant, user, "sections/directory/")}"' in html
    assert graph_calls == []


def test_directory_sections_share_one_batch(fabrikam_user, viewer_client, graph_calls):
    tenant, user = fabrikam_user
    response = viewer_client.get(_url(tenant, user, "sections/directory/"))
    html = response.content.decode()
    assert [c[0] for c in graph_calls] == ["POST"] and graph_calls[0][1] == "$batch"
    for name in ("profile", "licences", "groups", "auth-methods", "devices"):
        assert f'id="section-{name}"' in html
    assert html.count('hx-swap-oob="true"') == 5
    assert "Could not load" not in html
    assert "Microsoft 365 E" in html or "Exchange Online" in html  # licence product names, not GUIDs
    assert "Directory roles" in html and "Administrator" in html
    assert "Password" in html and "Microsoft 365" in html


@pytest.mark.parametrize("section", ["profile", "licences", "groups", "auth-methods", "devices", "mfa",
                                     "sign-ins", "mailbox", "onedrive"])  # fmt: skip
def test_each_section_loads_on_its_own(section, fabrikam_user, viewer_client):
    tenant, user = fabrikam_user
    response = viewer_client.get(_url(tenant, user, f"sections/{section}/"))
    html = response.content.decode()
    assert response.status_code == 200 and f'id="section-{section}"' in html
    assert "Could not load" not in html and "hx-swap-oob" not in html


def test_sign_ins_section_lists_the_users_sign_ins(fabrikam_user, viewer_client):
    from graph.sandbox.models import SandboxSignIn

    tenant, user = fabrikam_user
    html = viewer_client.get(_url(tenant, user, "sections/sign-ins/")).content.decode()
    newest = SandboxSignIn.objects.filter(user=user).order_by("-created_datetime").first()
    assert newest.properties["ipAddress"] in html and newest.properties["appDisplayName"] in html


def test_a_failing_section_shows_its_own_error_while_others_render(fabrikam_user, viewer_client, monkeypatch):
    tenant, user = fabrikam_user
    real_batch = GraphClient.batch

    def batch_with_failed_member_of(self, requests_, **kwargs):
        results = real_batch(self, requests_, **kwargs)
        results["memberOf"] = BatchResult(
            "memberOf",
            503,
            error=TransientError(
                "Service is temporarily unavailable.",
                status=503,
                code="ServiceUnavailable",
                request_id="req-123",
            ),
        )
        return results

    monkeypatch.setattr(GraphClient, "batch", batch_with_failed_member_of)
    html = viewer_client.get(_url(tenant, user, "sections/directory/")).content.decode()
    groups = html.split('id="section-groups"')[1].split("</section>")[0]
    assert (
        "Could not load groups and roles" in groups and "ServiceUnavailable" in groups and "req-123" in groups
    )
    assert "Retry" in groups and f'hx-get="{_url(tenant, user, "sections/groups/")}"' in groups
    profile = html.split('id="section-profile"')[1].split("</section>")[0]
    assert "Could not load" not in profile and user.properties["givenName"] in profile
    # the Retry URL loads the section alone and succeeds once the source recovers
    retried = viewer_client.get(_url(tenant, user, "sections/groups/")).content.decode()
    assert "Could not load" not in retried and "Directory roles" in retried


def test_a_raising_service_is_reported_in_its_section_only(fabrikam_user, viewer_client, monkeypatch):
    from graph.services import onedrive

    tenant, user = fabrikam_user

    def broken(client, user_id):
        raise GraphError("Drive service unavailable", status=502, code="badGateway", request_id="rid-9")

    monkeypatch.setattr(onedrive, "get_onedrive_status", broken)
    html = viewer_client.get(_url(tenant, user, "sections/onedrive/")).content.decode()
    assert "badGateway" in html and "rid-9" in html and "Drive service unavailable" in html
    assert "Could not load" not in viewer_client.get(_url(tenant, user, "sections/mfa/")).content.decode()


def test_tenant_without_premium_gets_an_explanation_and_no_sign_in_call(
    activity_world, viewer_client, monkeypatch
):
    from graph.services import signins

    monkeypatch.setattr(
        signins, "list_recent_sign_ins", lambda *a, **k: pytest.fail("sign-ins were requested")
    )
    tenant = activity_world.tenants["Tailspin Toys"]
    assert not tenant.has_entra_p1
    user = activity_world.member_with("Tailspin Toys", lambda u: True)
    html = viewer_client.get(_url(tenant, user, "sections/sign-ins/")).content.decode()
    assert "Entra ID P1 or P2" in html and "Could not load" not in html


def test_user_missing_from_the_cache_is_read_from_graph_once(activity_world, viewer_client):
    tenant = activity_world.tenants["Northwind Traders"]
    user = activity_world.member_with("Northwind Traders", lambda u: True)
    html = viewer_client.get(_url(tenant, user)).content.decode()
    assert user.display_name in html and "live from Graph" in html
    assert viewer_client.get(f"/users/{tenant.slug}/{uuid.uuid4()}/").status_code == 404


def test_unknown_tenant_is_404(activity_world, viewer_client):
    assert viewer_client.get(f"/users/nosuch.example/{uuid.uuid4()}/").status_code == 404


def test_technician_outside_the_tenants_scope_is_refused(
    fabrikam_user, activity_world, client, django_user_model
):
    from tenants.models import TechnicianProfile

    tenant, user = fabrikam_user
    other = django_user_model.objects.create_user(username="scoped", password="x")
    profile = TechnicianProfile.objects.create(user=other, role="admin", scope="only")
    profile.tenants.set([activity_world.tenants["Northwind Traders"]])
    client.force_login(other)
    for suffix in ("", "sections/directory/", "sections/mailbox/", "sections/sign-ins/"):
        response = client.get(_url(tenant, user, suffix))
        assert response.status_code == 404, suffix
        assert user.display_name not in response.content.decode()


def test_post_is_refused(fabrikam_user, viewer_client):
    tenant, user = fabrikam_user
    assert viewer_client.post(_url(tenant, user)).status_code == 405


def test_mfa_section_writes_the_state_through_to_the_cache(fabrikam_user, viewer_client):
    from graph.sandbox.models import SandboxUserAuthentication
    from users.models import DirectoryUser

    tenant, user = fabrikam_user
    SandboxUserAuthentication.objects.update_or_create(user=user, defaults={"per_user_mfa_state": "enforced"})
    response = viewer_client.get(_url(tenant, user, "sections/mfa/"))
    assert response.status_code == 200
    row = DirectoryUser.objects.get(tenant=tenant, user_id=user.pk)
    assert row.per_user_mfa_state == "enforced"
