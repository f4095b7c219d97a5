"""The sign-in page: one message for any wrong credential (no account enumeration), errors at the fields."""

import re

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_wrong_password_and_unknown_user_read_the_same(client, technician):
    wrong_password = client.post(reverse("login"), {"username": "tech", "password": "nope"}).content.decode()
    unknown_user = client.post(reverse("login"), {"username": "ghost", "password": "nope"}).content.decode()
    message = "Please enter a correct username and password"
    assert message in wrong_password and message in unknown_user

    # The only difference allowed is the echoed username and the per-request CSRF token.
    def normalise(html, name):
        html = html.replace(f'value="{name}"', "")
        return re.sub(r'(csrf-token" content|csrfmiddlewaretoken" value)="[^"]+"', "", html)

    assert normalise(wrong_password, "tech") == normalise(unknown_user, "ghost")


@pytest.mark.django_db
def test_missing_fields_are_flagged_next_to_the_fields(client):
    html = client.post(reverse("login"), {"username": "", "password": ""}).content.decode()
    assert 'id="username-error"' in html and 'id="password-error"' in html
    assert 'aria-invalid="true"' in html


@pytest.mark.django_db
def test_sign_in_redirects_to_the_tenant_list(client, technician):
    response = client.post(reverse("login"), {"username": "tech", "password": "correct-horse-battery"})
    assert response["Location"] == reverse("tenants:list")
    assert "Sign in with Microsoft" not in client.get(reverse("logout")).content.decode()


@pytest.mark.django_db
def test_microsoft_button_only_when_sso_is_on(client, settings):
    assert "Sign in with Microsoft" not in client.get(reverse("login")).content.decode()
    settings.TECH_SSO_ENABLED = True
    html = client.get(reverse("login"), {"next": "/tenants/"}).content.decode()
    assert "Sign in with Microsoft" in html and reverse("oidc-login") + "?next=/tenants/" in html
