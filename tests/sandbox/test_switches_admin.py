"""The sandbox admin page: staff only, field errors, saving switches, expiring delta tokens."""

from __future__ import annotations

import pytest

from graph.sandbox.models import SandboxTenant

from .identity_factories import make_tenant, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    tenant = make_tenant("northwind")
    make_user(tenant, "a")
    make_user(tenant, "b")
    return tenant


def _form(tenant, **values):
    data = {
        "latency_ms": 0,
        "throttle_limit": 0,
        "throttle_window_seconds": 10,
        "throttle_probability": 0,
        "fault_probability": 0,
        "timeout_probability": 0,
        "drop_probability": 0,
    } | values
    return {f"{tenant.pk}-{key}": value for key, value in data.items()}


def test_anonymous_is_sent_to_login(client, tenant):
    response = client.get("/sandbox/admin/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_non_staff_is_forbidden(client, tenant, django_user_model):
    client.force_login(django_user_model.objects.create_user("plain", password="x" * 16))
    assert client.get("/sandbox/admin/").status_code == 403


def test_page_lists_tenants_with_user_counts(tech_client, tenant):
    response = tech_client.get("/sandbox/admin/")
    assert response.status_code == 200
    assert b"Northwind" in response.content and b"2 users" in response.content
    assert b"Expire delta tokens" in response.content


def test_save_switches(tech_client, tenant):
    response = tech_client.post(
        f"/sandbox/admin/{tenant.pk}/switches",
        _form(tenant, latency_ms=25, throttle_limit=100, fault_probability=0.05),
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.latency_ms, tenant.throttle_limit, tenant.fault_probability) == (25, 100, 0.05)


def test_invalid_values_show_field_errors(tech_client, tenant):
    response = tech_client.post(
        f"/sandbox/admin/{tenant.pk}/switches", _form(tenant, fault_probability=3, latency_ms="x")
    )
    assert response.status_code == 422
    assert (
        b"Enter a probability between 0 and 1" in response.content
        and b"Enter a whole number" in response.content
    )
    assert SandboxTenant.objects.get(pk=tenant.pk).fault_probability == 0


def test_expire_delta_tokens_button(tech_client, tenant):
    assert tech_client.post(f"/sandbox/admin/{tenant.pk}/expire-delta").status_code == 302
    tenant.refresh_from_db()
    assert tenant.delta_tokens_valid_after is not None
