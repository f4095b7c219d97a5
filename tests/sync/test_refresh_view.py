"""The Refresh button (POST, CSRF, permission sync.run, tenant scope) and the status partial."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import TechnicianProfile, Tenant
from users.models import DirectoryUser
from users.sync import schedule

pytestmark = pytest.mark.django_db


def _technician(django_user_model, name, role, tenants=None):
    user = django_user_model.objects.create_user(username=name, password="x-Correct-Horse-1")
    profile = TechnicianProfile.objects.create(
        user=user, role=role, scope=TechnicianProfile.Scope.ONLY if tenants else TechnicianProfile.Scope.ALL
    )
    if tenants:
        profile.tenants.set(tenants)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _csrf(client) -> str:
    """A valid CSRF cookie/token pair, whatever pages this technician may see."""
    token = "csrfTokenForTheSyncViewTests0001"  # 32 characters: a well-formed secret
    client.cookies["csrftoken"] = token
    return token


def test_htmx_refresh_runs_the_sync_and_returns_the_status(tailspin, django_user_model):
    client = _technician(django_user_model, "helpdesk", TechnicianProfile.Role.HELPDESK)
    url = reverse("users:sync", args=[tailspin.slug])
    page = client.get(reverse("users:sync-status", args=[tailspin.slug]))
    assert page.status_code == 200 and b"Never synced" in page.content and b"Refresh" in page.content
    token = client.cookies["csrftoken"].value
    response = client.post(url, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    body = response.content.decode()
    count = DirectoryUser.objects.filter(tenant=tailspin).count()
    assert count > 0 and f"({count} users)" in body and "Last synced" in body
    assert 'hx-trigger="every 2s"' not in body  # finished (eager Celery): no more polling


def test_status_polls_while_a_sync_is_queued(tailspin, django_user_model):
    client = _technician(django_user_model, "reader", TechnicianProfile.Role.READER)
    schedule.mark_requested(tailspin)
    body = client.get(reverse("users:sync-status", args=[tailspin.slug])).content.decode()
    assert "Syncing…" in body and 'hx-trigger="every 2s"' in body
    assert "Refresh" not in body  # a Reader has no sync.run


def test_failed_sync_shows_the_error(tailspin, django_user_model):
    Tenant.objects.filter(pk=tailspin.pk).update(
        last_sync_status="failed", last_sync_error="AADSTS50173 <b>x</b>"
    )
    client = _technician(django_user_model, "reader2", TechnicianProfile.Role.READER)
    body = client.get(reverse("users:sync-status", args=[tailspin.slug])).content.decode()
    assert "Sync failed" in body and "AADSTS50173 &lt;b&gt;x&lt;/b&gt;" in body


def test_plain_post_redirects_back_with_a_message(tailspin, django_user_model):
    client = _technician(django_user_model, "helpdesk2", TechnicianProfile.Role.HELPDESK)
    token = _csrf(client)
    response = client.post(
        reverse("users:sync", args=[tailspin.slug]),
        {"csrfmiddlewaretoken": token, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/users/?tenant={tailspin.slug}"
    notes = [str(message) for message in get_messages(response.wsgi_request)]
    assert notes == ["Tailspin Toys is up to date."]


def test_refresh_needs_csrf_permission_and_scope(customers, django_user_model):
    tailspin, fabrikam = customers["Tailspin Toys"], customers["Fabrikam Inc"]
    url = reverse("users:sync", args=[tailspin.slug])
    helpdesk = _technician(django_user_model, "h3", TechnicianProfile.Role.HELPDESK)
    assert helpdesk.post(url).status_code == 403  # no CSRF token
    reader = _technician(django_user_model, "r3", TechnicianProfile.Role.READER)
    denied = reader.post(url, {"csrfmiddlewaretoken": _csrf(reader)})
    assert denied.status_code == 403 and b"CSRF" not in denied.content  # refused for its role
    scoped = _technician(django_user_model, "h4", TechnicianProfile.Role.HELPDESK, tenants=[fabrikam])
    token = _csrf(scoped)
    assert scoped.post(url, {"csrfmiddlewaretoken": token}).status_code == 404  # outside scope: not revealed
    assert scoped.get(reverse("users:sync-status", args=[tailspin.slug])).status_code == 404
    assert helpdesk.get(url).status_code == 405
    assert not DirectoryUser.objects.filter(tenant=tailspin).exists()
    anonymous = Client()
    assert anonymous.post(url).status_code in (302, 403)


@pytest.mark.django_db
def test_users_page_of_one_tenant_shows_last_sync_and_refresh(client):
    from django.contrib.auth import get_user_model

    from tests.users.factories import make_tenant, make_users

    tenant = make_tenant(name="Refreshco")
    make_users(tenant, 3)
    tenant.last_sync_status = "ok"
    tenant.last_sync_at = timezone.now()
    tenant.save()
    admin = get_user_model().objects.create_superuser("boss", password="irrelevant-pass-123")
    client.force_login(admin)
    html = client.get(f"/users/?tenant={tenant.slug}").content.decode()
    assert "Last synced" in html
    assert f'action="/users/sync/{tenant.slug}/"' in html
