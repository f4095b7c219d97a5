"""Invite guest (/users/invite/) against the sandbox: defaults, the redeem URL when no e-mail is sent, an
existing guest reported as such, validation, and refusals."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.provisioning.test_add_user_views import FormValues, build_world, client_for, errors_of

INVITE = "/users/invite/"


@pytest.fixture
def world(sandbox_world, sandbox_connection):
    return build_world(sandbox_connection)


@pytest.fixture
def editor(django_user_model):
    return client_for(django_user_model, "editor")


def _guests(tenant):
    from graph.sandbox.models import SandboxUser

    return SandboxUser.objects.filter(tenant_id=tenant.tenant_id, user_type="Guest")


def _post(tenant, email, **extra):
    data = {"tenant": str(tenant.tenant_id), "display_name": "Gus Guest", "email": email,
            "redirect_url": "", "message": ""}  # fmt: skip
    data.update(extra)
    return data


def test_form_defaults(world, editor):
    tenant = world["northwind"]
    response = editor.get(INVITE, {"tenant": tenant.default_domain})
    assert response.status_code == 200
    form = FormValues(response.content.decode(), form_id="invite-guest-form")
    assert form.values["redirect_url"] == "https://myapps.microsoft.com"
    assert form.checked["send_email"] == ["on"]
    assert form.values["tenant"] == str(tenant.tenant_id)


def test_without_email_the_redeem_url_is_shown_and_the_guest_exists(world, editor):
    tenant = world["northwind"]
    email = f"gus.{uuid.uuid4().hex[:6]}@partner.example"
    before = _guests(tenant).count()
    response = editor.post(INVITE, _post(tenant, email, message="Welcome aboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-status="success"' in html
    url = re.search(r"data-redeem-url>([^<]+)<", html).group(1)
    assert url.startswith("http")
    assert "no-store" in response["Cache-Control"]
    guest = _guests(tenant).get(mail_lower=email)
    assert _guests(tenant).count() == before + 1
    assert guest.properties["displayName"] == "Gus Guest"
    # the guest is in the users table's cache at once
    from users.models import DirectoryUser

    assert DirectoryUser.objects.filter(tenant=tenant, user_id=guest.id).exists()
    # and the redeem URL is nowhere in the audit log
    from users.models import AuditEntry

    assert not any(url in f"{e.parameters} {e.message}" for e in AuditEntry.objects.all())


def test_with_email_no_redeem_url_is_shown(world, editor):
    tenant = world["northwind"]
    response = editor.post(
        INVITE, _post(tenant, f"mail.{uuid.uuid4().hex[:6]}@partner.example", send_email="on")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-redeem-url" not in html
    assert "An invitation e-mail went to" in html


def test_an_existing_guest_is_reported_as_already_there(world, editor):
    tenant = world["northwind"]
    email = f"again.{uuid.uuid4().hex[:6]}@partner.example"
    editor.post(INVITE, _post(tenant, email))
    before = _guests(tenant).count()
    response = editor.post(INVITE, _post(tenant, email))
    html = response.content.decode()
    assert "already" in html and "already a guest" in html
    assert "is already in this tenant" in html
    assert _guests(tenant).count() == before  # no second guest


def test_validation(world, editor):
    tenant = world["northwind"]
    before = _guests(tenant).count()
    response = editor.post(
        INVITE, _post(tenant, "not-an-address", redirect_url="http://insecure.example", display_name="")
    )
    assert response.status_code == 422
    errors = errors_of(response.content.decode())
    assert {"email", "redirect_url", "display_name"} <= set(errors)
    own = editor.post(INVITE, _post(tenant, "someone@northwind.co.uk"))
    assert own.status_code == 422
    assert "own domains" in errors_of(own.content.decode())["email"][0]
    assert _guests(tenant).count() == before


def test_refusals(world, django_user_model, client):
    tenant = world["northwind"]
    before = _guests(tenant).count()
    reader = client_for(django_user_model, "reader")
    assert reader.get(INVITE, {"tenant": str(tenant.tenant_id)}).status_code == 403
    assert reader.post(INVITE, _post(tenant, "r@partner.example")).status_code == 403
    scoped = client_for(django_user_model, "editor", tenants=[world["tailspin"]])
    hidden = scoped.post(INVITE, _post(tenant, "s@partner.example"))
    unknown = scoped.post(INVITE, {**_post(tenant, "s@partner.example"), "tenant": str(uuid.uuid4())})
    assert hidden.status_code == unknown.status_code == 404
    anonymous = client.post(INVITE, _post(tenant, "a@partner.example"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert _guests(tenant).count() == before
