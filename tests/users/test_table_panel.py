"""The More info panel: fields, previous/next through the table's order and filters, scope."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from users.filters import parse_table_query
from users.models import DirectoryUser
from users.queries import neighbours, table_queryset

from .factories import make_admin, make_technician, make_tenant, make_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def contoso():
    tenant = make_tenant("Contoso", domain="contoso.example", has_entra_p1=True)
    make_users(tenant, 40)
    return tenant


@pytest.fixture
def admin_client(client):
    client.force_login(make_admin())
    return client


def panel(client, user, *, htmx=True, **params):
    url = reverse("users:panel", args=[user.tenant.slug, user.user_id])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.get(url + ("?" + urlencode(params) if params else ""), **headers)


def table_order(tenant, **params) -> list[int]:
    query = parse_table_query(params)
    return list(table_queryset(tenant, query).values_list("pk", flat=True))


def test_panel_shows_copyable_fields_and_the_record(admin_client, contoso):
    user = DirectoryUser.objects.get(tenant=contoso, display_name="Brian Lovelace 00001")
    response = panel(admin_client, user, tenant="contoso.example")
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text  # the htmx partial
    for value in (user.user_principal_name, str(user.user_id), user.proxy_addresses[0]):
        assert f'data-copy="{value}"' in text
    assert "Created" in text and "Last AD sync" in text
    assert 'id="user-panel-actions"' in text
    assert f'href="/users/contoso.example/{user.user_id}/"' in text  # View user


def test_panel_without_htmx_is_a_full_page(admin_client, contoso):
    user = DirectoryUser.objects.filter(tenant=contoso).first()
    response = admin_client.get(reverse("users:panel", args=[contoso.tenant_id, user.user_id]))
    assert response.status_code == 200 and "<html" in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"tenant": "contoso.example"},
        {"tenant": "contoso.example", "sort": "-mail"},
        {"tenant": "contoso.example", "sort": "last_sign_in"},  # nullable: nulls last
        {"tenant": "contoso.example", "sort": "-last_sign_in"},
        {"tenant": "contoso.example", "sort": "enabled"},  # many equal values: the pk tiebreak decides
        {"tenant": "contoso.example", "sort": "-licences", "status": "enabled"},
        {"tenant": "all", "sort": "tenant"},
    ],
)
def test_neighbours_follow_the_table_order_exactly(contoso, params):
    other = make_tenant("Other")
    make_users(other, 5, last_sign_in=lambda i: timezone.now() - timedelta(days=i) if i % 2 else None)
    from tenants.models import Tenant

    scope = contoso if params["tenant"] != "all" else Tenant.objects.all()
    query = parse_table_query(params)
    qs = table_queryset(scope, query)
    order = list(qs)
    for index, user in enumerate(order):
        nav = neighbours(qs, user, query)
        assert nav.position == index + 1 and nav.count == len(order)
        assert (nav.previous.pk if nav.previous else None) == (order[index - 1].pk if index else None)
        assert (nav.next.pk if nav.next else None) == (
            order[index + 1].pk if index + 1 < len(order) else None
        )


def test_next_and_previous_links_keep_the_query(admin_client, contoso):
    order = table_order(contoso, sort="-created", status="enabled")
    user = DirectoryUser.objects.get(pk=order[3])
    response = panel(
        admin_client, user, htmx=False, tenant="contoso.example", sort="-created", status="enabled"
    )
    context = response.context
    assert context["nav"].position == 4
    expected_next = DirectoryUser.objects.get(pk=order[4])
    assert context["next_url"].startswith(
        reverse("users:panel", args=["contoso.example", expected_next.user_id])
    )
    assert "sort=-created" in context["next_url"] and "status=enabled" in context["next_url"]
    assert f"/{DirectoryUser.objects.get(pk=order[2]).user_id}/" in context["previous_url"]


def test_user_outside_the_filter_has_no_position(admin_client, contoso):
    disabled = DirectoryUser.objects.filter(tenant=contoso, account_enabled=False).first()
    response = panel(admin_client, disabled, htmx=False, tenant="contoso.example", status="enabled")
    assert response.context["nav"].position == 0
    assert "Not in the current filter" in response.content.decode()


def test_panel_scope_and_unknown_user(client, contoso):
    hidden = make_tenant("Hidden")
    make_users(hidden, 1)
    client.force_login(make_technician(tenants=[contoso]))
    secret = DirectoryUser.objects.get(tenant=hidden)
    assert panel(client, secret).status_code == 404
    mine = DirectoryUser.objects.filter(tenant=contoso).first()
    assert panel(client, mine).status_code == 200
    url = reverse("users:panel", args=["contoso.example", "00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404
