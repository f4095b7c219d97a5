"""Add user against the sandbox: the prefilled form on both paths (the seed page's LiveLink), refusals for
roles, tenants and anonymous visitors, the live checks, creation, and the password never stored or logged."""

from __future__ import annotations

import logging
import re
import uuid
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ADD = "/users/add/"
REFERENCE_ADD = "/identity/administration/users/add"


# --- the world -------------------------------------------------------------------------------------------------


def build_world(sandbox_connection) -> dict:
    """The demo sandbox discovered (tenants with their verified domains) and Northwind's and Tailspin's
    directories synced (users, licences) as the portal would have them."""
    from tenants.models import Tenant
    from tenants.services import discover_customers
    from users.sync import sync_tenant

    discover_customers(sandbox_connection)
    northwind = Tenant.objects.get(display_name="Northwind Traders")
    tailspin = Tenant.objects.get(display_name="Tailspin Toys")
    for tenant in (northwind, tailspin):
        sync_tenant(tenant, full=True, sign_ins=False)
    return {"northwind": northwind, "tailspin": tailspin}


@pytest.fixture
def world(sandbox_world, sandbox_connection):
    return build_world(sandbox_connection)


def client_for(django_user_model, role: str, *, tenants=None, csrf: bool = False) -> Client:
    from tenants.models import TechnicianProfile

    user = django_user_model.objects.create_user(username=f"{role}-{uuid.uuid4().hex[:6]}", password="x")
    scope = TechnicianProfile.Scope.ONLY if tenants else TechnicianProfile.Scope.ALL
    profile = TechnicianProfile.objects.create(user=user, role=role, scope=scope)
    if tenants:
        profile.tenants.set(tenants)
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    client.technician = user
    return client


@pytest.fixture
def editor(django_user_model):
    return client_for(django_user_model, "editor")


class FormValues(HTMLParser):
    """What a browser would show in the form: input values, checked boxes, selected options, textareas."""

    def __init__(self, html: str, form_id: str = "add-user-form"):
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.values: dict[str, object] = {}
        self.checked: dict[str, list[str]] = {}
        self.options: dict[str, list[str]] = {}
        self._select = self._textarea = None
        self._option_selected = False
        self._option_value = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.checked.setdefault(name, []).append(a.get("value", "on"))
            else:
                self.values[name] = a.get("value", "")
        elif tag == "select":
            self._select = name
            self.options[name] = []
        elif tag == "option" and self._select:
            self.options[self._select].append(a.get("value", ""))
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            if self._select and self._select not in self.values and self.options[self._select]:
                self.values[self._select] = self.options[self._select][0]
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            text = data[1:] if data.startswith("\n") and not self.values[self._textarea] else data
            self.values[self._textarea] += text


def errors_of(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'data-field-error="([^"]+)">([^<]*)<', html):
        found.setdefault(name, []).append(text)
    return found


def sandbox_user_count() -> int:
    from graph.sandbox.models import SandboxUser

    return SandboxUser.objects.count()


# --- the form and the prefill --------------------------------------------------------------------------------------


def test_form_offers_the_tenants_domains_licences_and_default_location(world, editor):
    tenant = world["northwind"]
    response = editor.get(ADD, {"tenant": str(tenant.tenant_id)})
    assert response.status_code == 200
    html = response.content.decode()
    form = FormValues(html)
    assert form.options["domain"][0] == "northwindtraders.com"  # default first, preselected
    assert set(form.options["domain"]) == {
        "northwindtraders.com",
        "northwind.co.uk",
        "northwindtraders.onmicrosoft.com",
    }
    assert form.values["domain"] == "northwindtraders.com"
    assert form.values["usage_location"] == ""
    assert "Tenant default — United Kingdom (GB)" in html
    assert "Microsoft 365 Business Premium (3 available)" in html
    assert "Exchange Online (Plan 1) (0 available)" in html
    assert form.checked.get("password_mode") == ["generate"]
    assert "must_change_password" not in form.checked  # default false
    assert form.values["tenant"] == str(tenant.tenant_id)


def livelink(tenant, domain_value: str) -> str:
    """The seed page's AutoTask LiveLink, placeholders filled the way AutoTask fills them."""
    values = [
        ("city", "Rotterdam"), ("country", "Netherlands"), ("customerId", str(tenant.tenant_id)),
        ("primDomain", domain_value), ("usageLocation", "NL"), ("streetAddress", "Coolsingel 40"),
        ("companyName", "Northwind Traders"), ("businessPhones", "+31 10 123 4567"), ("postalCode", "3011 AB"),
        ("givenName", "Anna"), ("surname", "de Vries"),
    ]  # fmt: skip
    return "?" + urlencode(values, quote_via=quote)


LIVELINK_EXPECTED = {
    "city": "Rotterdam", "country": "Netherlands", "domain": "northwind.co.uk", "usage_location": "NL",
    "street_address": "Coolsingel 40", "company_name": "Northwind Traders", "business_phone": "+31 10 123 4567",
    "postal_code": "3011 AB", "given_name": "Anna", "surname": "de Vries",
}  # fmt: skip


@pytest.mark.parametrize("path", [REFERENCE_ADD, REFERENCE_ADD + "/", ADD])
def test_the_seed_livelink_opens_a_correctly_filled_form(world, editor, path):
    before = sandbox_user_count()
    response = editor.get(path + livelink(world["northwind"], "https://www.northwind.co.uk/"))
    assert response.status_code == 200
    html = response.content.decode()
    form = FormValues(html)
    for name, value in LIVELINK_EXPECTED.items():
        assert form.values[name] == value, name
    assert errors_of(html) == {}
    assert "data-unknown-parameters" not in html
    assert "Filled from the link" in html
    assert sandbox_user_count() == before  # a link never creates anything


def test_both_paths_render_the_same_form(world, editor):
    tenant = world["northwind"]
    ours = FormValues(editor.get(ADD, {"tenant": tenant.default_domain}).content.decode())
    theirs = FormValues(editor.get(REFERENCE_ADD, {"customerId": tenant.default_domain}).content.decode())
    for form in (ours, theirs):
        form.values.pop("csrfmiddlewaretoken")  # a fresh masked token on every page
    assert ours.values == theirs.values and ours.options == theirs.options and ours.checked == theirs.checked


def test_customer_id_as_a_domain_or_website_and_the_synonyms(world, editor):
    tenant = world["northwind"]
    for params in ({"customerId": "NORTHWIND.CO.UK"}, {"tenantFilter": "northwindtraders.onmicrosoft.com"},
                   {"TENANT": "https://www.northwindtraders.com/"}, {"customerid": str(tenant.tenant_id).upper()}):  # fmt: skip
        response = editor.get(REFERENCE_ADD, params)
        assert response.status_code == 200, params
        assert FormValues(response.content.decode()).values["tenant"] == str(tenant.tenant_id)


def test_values_that_do_not_fit_are_field_errors_kept_visible(world, editor):
    tenant = world["northwind"]
    long_name = "G" * 70
    query = urlencode({"customerId": str(tenant.tenant_id), "primDomain": "contoso.com", "usageLocation": "XX",
                       "givenName": long_name, "mailNickname": "anna devries", "MustChangePass": "perhaps",
                       "addedAliasses": "a\nb@contoso.com", "nonsense": "1", "Another": "2"})  # fmt: skip
    response = editor.get(f"{REFERENCE_ADD}?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    form = FormValues(html)
    errors = errors_of(html)
    assert form.values["domain"] == "contoso.com" and "domain" in errors
    assert form.values["usage_location"] == "XX" and "ISO 3166" in errors["usage_location"][0]
    assert form.values["given_name"] == long_name and "At most 64 characters" in errors["given_name"][0]
    assert form.values["username"] == "anna devries" and "username" in errors
    assert "must_change_password" in errors and "must_change_password" not in form.checked
    assert form.values["aliases"] == "a@northwindtraders.com\nb@contoso.com" and "aliases" in errors
    assert "<code>nonsense</code>" in html and "<code>Another</code>" in html


def test_display_name_from_the_link_is_kept(world, editor):
    query = urlencode({"customerId": str(world["northwind"].tenant_id), "givenName": "Anna", "surname": "de Vries",
                       "displayName": "Anna de Vries (Sales)"})  # fmt: skip
    form = FormValues(editor.get(f"{REFERENCE_ADD}?{query}").content.decode())
    assert form.values["display_name"] == "Anna de Vries (Sales)"


def test_must_change_pass_true_ticks_the_box(world, editor):
    query = urlencode({"customerId": str(world["northwind"].tenant_id), "MustChangePass": "TRUE"})
    assert FormValues(editor.get(f"{REFERENCE_ADD}?{query}").content.decode()).checked[
        "must_change_password"
    ] == ["on"]


def test_no_tenant_named_asks_which_one(world, editor):
    response = editor.get(REFERENCE_ADD)
    assert response.status_code == 200
    assert "In which tenant?" in response.content.decode()
    assert 'name="customerId"' in response.content.decode()


# --- refusals -----------------------------------------------------------------------------------------------------


def _body_without(response, value: str) -> str:
    html = response.content.decode().replace(value, "VALUE")
    html = re.sub(r'name="csrf-token" content="[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_out_of_scope_tenant_is_refused_exactly_like_an_unknown_one(world, django_user_model):
    scoped = client_for(django_user_model, "editor", tenants=[world["tailspin"]])
    hidden = str(world["northwind"].tenant_id)
    unknown = str(uuid.uuid4())
    for path, key in ((ADD, "tenant"), (REFERENCE_ADD, "customerId")):
        a = scoped.get(path, {key: hidden, "city": "X"})
        b = scoped.get(path, {key: unknown, "city": "X"})
        assert a.status_code == b.status_code == 404
        assert _body_without(a, hidden) == _body_without(b, unknown)
        assert "Tenant not found" in a.content.decode()
    # and its domain tells nothing either
    c = scoped.get(REFERENCE_ADD, {"customerId": "northwind.co.uk"})
    d = scoped.get(REFERENCE_ADD, {"customerId": "nowhere.example"})
    assert c.status_code == d.status_code == 404
    assert _body_without(c, "northwind.co.uk") == _body_without(d, "nowhere.example")
    # the tenant in scope opens
    assert scoped.get(ADD, {"tenant": str(world["tailspin"].tenant_id)}).status_code == 200


@pytest.mark.parametrize("role", ["reader", "helpdesk"])
def test_roles_without_users_edit_are_refused(world, django_user_model, role):
    client = client_for(django_user_model, role)
    tenant = world["northwind"]
    before = sandbox_user_count()
    response = client.get(ADD, {"tenant": str(tenant.tenant_id)})
    assert response.status_code == 403
    assert "may not create" in response.content.decode()
    post = client.post(ADD, _valid_post(tenant, "refused.user"))
    assert post.status_code == 403
    for url in ("/users/add/check/address/", "/users/add/check/copy/", "/users/add/check/users/"):
        assert client.get(url, {"tenant": str(tenant.tenant_id), "username": "x"}).status_code == 403
    assert client.get("/users/invite/", {"tenant": str(tenant.tenant_id)}).status_code == 403
    assert sandbox_user_count() == before


def test_anonymous_is_sent_to_log_in_and_nothing_is_created(world, client):
    tenant = world["northwind"]
    before = sandbox_user_count()
    response = client.get(REFERENCE_ADD + livelink(tenant, "northwind.co.uk"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    post = client.post(ADD, _valid_post(tenant, "anon.user"))
    assert post.status_code == 302 and "/login/" in post["Location"]
    assert client.get("/users/add/check/address/", {"tenant": str(tenant.tenant_id)}).status_code == 302
    assert sandbox_user_count() == before


def test_post_needs_the_csrf_token(world, django_user_model):
    client = client_for(django_user_model, "editor", csrf=True)
    before = sandbox_user_count()
    response = client.post(ADD, _valid_post(world["northwind"], "csrf.user"))
    assert response.status_code == 403
    assert sandbox_user_count() == before


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.text(max_size=300),
    extra=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=80)), max_size=6),
)
def test_arbitrary_query_strings_never_500_and_never_create(world, editor, query, extra):
    before = sandbox_user_count()
    tenant = world["northwind"]
    for path in (ADD, REFERENCE_ADD):
        response = editor.get(f"{path}?customerId={tenant.tenant_id}&{quote(query, safe='=&%')}")
        assert response.status_code in (200, 400, 404), response.status_code
        response = editor.get(path, {**dict(extra), "customerId": str(tenant.tenant_id)})
        assert response.status_code in (200, 400, 404), response.status_code
        response = editor.get(f"{path}?{quote(query, safe='=&%')}")
        assert response.status_code in (200, 400, 404), response.status_code
    assert sandbox_user_count() == before


# --- live checks ----------------------------------------------------------------------------------------------------


def _taken_upn(tenant) -> str:
    from users.models import DirectoryUser

    return (
        DirectoryUser.objects.filter(tenant=tenant, upn_domain=tenant.default_domain)
        .order_by("user_principal_name")
        .first()
        .user_principal_name
    )


def test_address_check_reports_taken_and_free(world, editor):
    tenant = world["northwind"]
    taken = _taken_upn(tenant)
    local, domain = taken.split("@")
    url = "/users/add/check/address/"
    html = editor.get(url, {"tenant": str(tenant.tenant_id), "username": local, "domain": domain,
                            "aliases": "free.alias.zz\nx@contoso.com"}).content.decode()  # fmt: skip
    assert "in use by" in html
    assert "free.alias.zz@northwindtraders.com" in html and "free" in html
    assert "contoso.com" in html  # not one of the tenant's domains
    bad = editor.get(
        url, {"tenant": str(tenant.tenant_id), "username": ".bad..name", "domain": domain}
    ).content.decode()
    assert 'data-check="error"' in bad and "dot" in bad


def test_field_length_check(editor, db):
    ok = editor.get("/users/add/check/field/", {"field": "city", "city": "Rotterdam"}).content.decode()
    assert "data-check" not in ok
    long = editor.get("/users/add/check/field/", {"field": "city", "city": "x" * 129}).content.decode()
    assert "At most 128 characters (this has 129)." in long


def test_user_suggestions_and_copy_from(world, editor):
    import json

    from users.models import DirectoryUser

    tenant = world["northwind"]
    source = DirectoryUser.objects.filter(tenant=tenant, is_licensed=True).exclude(job_title="").first()
    html = editor.get("/users/add/check/users/", {"tenant": str(tenant.tenant_id), "field": "manager",
                                                 "manager": source.display_name[:5]}).content.decode()  # fmt: skip
    assert f'value="{source.user_principal_name}"' in html
    response = editor.get("/users/add/check/copy/", {"tenant": str(tenant.tenant_id),
                                                     "copy_from": source.user_principal_name, "city": "Kept"})  # fmt: skip
    event = json.loads(response["HX-Trigger"])["userFormCopy"]
    assert event["fields"]["job_title"] == source.job_title
    assert "city" not in event["fields"]  # the technician's value is kept
    assert set(event["licences"]) == {str(s).lower() for s in source.license_sku_ids}
    assert "Kept what you had entered" in response.content.decode()
    missing = editor.get(
        "/users/add/check/copy/", {"tenant": str(tenant.tenant_id), "copy_from": "nobody@x.com"}
    )
    assert "HX-Trigger" not in missing and "No user" in missing.content.decode()


# --- submit -----------------------------------------------------------------------------------------------------------


def _valid_post(tenant, username: str, **extra) -> dict:
    data = {
        "tenant": str(tenant.tenant_id), "given_name": "Anna", "surname": "de Vries", "display_name": "Anna de Vries",
        "username": username, "domain": tenant.default_domain, "aliases": "", "password_mode": "generate",
        "usage_location": "NL", "city": "Rotterdam", "copy_groups": "on",
    }  # fmt: skip
    data.update(extra)
    return data


def _sku(tenant, name: str) -> str:
    return str(tenant.skus.get(product_name=name).sku_id)


def test_licence_without_units_is_refused_before_sending(world, editor):
    tenant = world["northwind"]
    before = sandbox_user_count()
    response = editor.post(
        ADD, _valid_post(tenant, "no.units", licences=[_sku(tenant, "Exchange Online (Plan 1)")])
    )
    assert response.status_code == 422
    assert "No unit left of: Exchange Online (Plan 1)" in response.content.decode()
    assert sandbox_user_count() == before


def test_taken_upn_and_bad_password_are_refused_and_the_password_not_echoed(world, editor):
    tenant = world["northwind"]
    local = _taken_upn(tenant).split("@")[0]
    before = sandbox_user_count()
    response = editor.post(ADD, _valid_post(tenant, local, password_mode="manual", password="Weakweak"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "in use by" in html
    assert "three of" in html
    assert "Weakweak" not in html
    assert sandbox_user_count() == before


def _created(world, editor, username, caplog, **extra):
    tenant = world["northwind"]
    with caplog.at_level(logging.DEBUG):
        response = editor.post(ADD, _valid_post(tenant, username, **extra))
    assert response.status_code == 200, response.content.decode()[:3000]
    return response


def _group(tenant, name: str):
    from graph.sandbox.models import SandboxGroup

    return SandboxGroup.objects.get(tenant_id=tenant.tenant_id, display_name=name)


def test_create_shows_every_step_and_the_one_time_password(world, editor, caplog):
    from graph.sandbox.models import SandboxGroupMember, SandboxLicenseAssignment, SandboxUser
    from users.models import DirectoryUser

    tenant = world["northwind"]
    premium = _sku(tenant, "Microsoft 365 Business Premium")
    security, distribution = _group(tenant, "SG-VPN-Users"), _group(tenant, "Sales Team")
    manager = DirectoryUser.objects.filter(tenant=tenant, user_type="Member").order_by("display_name").first()
    response = _created(
        world, editor, "anna.devries", caplog, licences=[premium], aliases="anna.dv\nsales.anna",
        must_change_password="on", groups=[str(security.id), str(distribution.id)],
        manager=manager.user_principal_name,
    )  # fmt: skip
    html = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    upn = "anna.devries@northwindtraders.com"
    assert upn in html
    password = re.search(r"data-secret>([^<]+)<", html).group(1)
    assert len(password) >= 8
    user = SandboxUser.objects.get(tenant_id=tenant.tenant_id, upn_lower=upn)
    props = user.properties
    assert props["givenName"] == "Anna" and props["city"] == "Rotterdam" and props["usageLocation"] == "NL"
    assert props["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    # every step reported, each truthfully successful, and really done in the sandbox
    steps = dict(re.findall(r'data-step="([^"]+)" data-status="([^"]+)"', html))
    assert steps.get("create") == "success"
    assert {"licences", "aliases", "groups", "manager"} <= set(steps), steps
    assert set(steps.values()) == {"success"}, steps
    assert SandboxLicenseAssignment.objects.filter(user=user).exists()
    for group in (security, distribution):  # Graph for security, Exchange for the distribution list
        assert SandboxGroupMember.objects.filter(user=user, group=group).exists(), group.display_name
    assert user.manager_id == manager.user_id
    assert "smtp:anna.dv@northwindtraders.com" in " ".join(props.get("proxyAddresses") or []).lower()
    assert "Add another" in html
    # the new user is in the users table's cache at once
    assert DirectoryUser.objects.filter(tenant=tenant, user_principal_name__iexact=upn).exists()


def _all_text_in_database() -> str:
    """Every column of every table, as one string (the password must appear nowhere): tests/secrets_scan.py."""
    from tests import secrets_scan

    return "\n".join(secrets_scan.database_text(exclude_prefix=None).values())


def test_the_password_never_lands_in_the_database_or_the_logs(world, editor, caplog):
    typed = "Typed-" + uuid.uuid4().hex[:10] + "!A"
    response = _created(world, editor, "typed.password", caplog, password_mode="manual", password=typed)
    assert typed in response.content.decode()  # shown once, to the technician
    generated_response = _created(world, editor, "generated.password", caplog)
    generated = re.search(r"data-secret>([^<]+)<", generated_response.content.decode()).group(1)
    text = _all_text_in_database()
    assert "typed.password@northwindtraders.com" in text  # the scan does see the new users
    for secret in (typed, generated):
        assert secret not in text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in str(record.args)
        assert secret not in editor.session.__repr__() and all(
            secret not in str(v) for v in editor.session.values()
        )


def test_users_list_buttons_only_for_technicians_who_may_create(world, editor, django_user_model):
    tenant = world["northwind"]
    html = editor.get("/users/add/buttons/", {"tenant": tenant.default_domain}).content.decode()
    assert f'href="/users/add/?tenant={tenant.tenant_id}"' in html
    assert f'href="/users/invite/?tenant={tenant.tenant_id}"' in html
    assert 'href="/users/add/"' in editor.get("/users/add/buttons/", {"tenant": "all"}).content.decode()
    reader = client_for(django_user_model, "reader")
    assert reader.get("/users/add/buttons/", {"tenant": tenant.default_domain}).status_code == 204
    page = editor.get("/users/", {"tenant": tenant.default_domain}).content.decode()
    assert "/users/add/buttons/?tenant=northwindtraders.com" in page
