"""The Add user link parser (users/provisioning/prefill.py): every parameter of the seed page's "Query
String Support" table, the AutoTask LiveLink, and properties over arbitrary input."""

from __future__ import annotations

from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from users.provisioning import rules
from users.provisioning.prefill import (
    LINK_PARAMETERS,
    PARAMETERS,
    match_domain,
    normalise_domain,
    parse_boolean,
    parse_prefill,
    tenant_value,
)

DOMAINS = ["northwindtraders.com", "northwind.co.uk", "northwindtraders.onmicrosoft.com"]
GUID = "0f5a2a4e-8d2b-4b7e-9a53-3a1d2c4b5e6f"

# The seed page's table, parameter -> (example value, form field, expected form value).
SEED_TABLE = {
    "customerId": None,
    "businessPhones": ("+31 10 123 4567", "business_phone", "+31 10 123 4567"),
    "city": ("Rotterdam", "city", "Rotterdam"),
    "companyName": ("Northwind Traders", "company_name", "Northwind Traders"),
    "country": ("Netherlands", "country", "Netherlands"),
    "department": ("Sales", "department", "Sales"),
    "displayName": ("Anna de Vries (Sales)", "display_name", "Anna de Vries (Sales)"),
    "givenName": ("Anna", "given_name", "Anna"),
    "jobTitle": ("Account manager", "job_title", "Account manager"),
    "mailNickname": ("anna.devries", "username", "anna.devries"),
    "mobilePhone": ("+31 6 1234 5678", "mobile_phone", "+31 6 1234 5678"),
    "addedAliasses": ("anna\nsales@northwind.co.uk", "aliases", "anna@northwindtraders.com\nsales@northwind.co.uk"),
    "postalCode": ("3011 AB", "postal_code", "3011 AB"),
    "streetAddress": ("Coolsingel 40", "street_address", "Coolsingel 40"),
    "surname": ("de Vries", "surname", "de Vries"),
    "usageLocation": ("nl", "usage_location", "NL"),
    "primDomain": ("northwindtraders.com", "domain", "northwindtraders.com"),
    "MustChangePass": ("true", "must_change_password", True),
}  # fmt: skip


def test_every_seed_parameter_fills_its_field():
    params = [("customerId", GUID)] + [(k, v[0]) for k, v in SEED_TABLE.items() if v]
    result = parse_prefill(params, domains=DOMAINS)
    assert result.tenant_value == GUID
    for name, spec in SEED_TABLE.items():
        if spec:
            assert result.initial[spec[1]] == spec[2], name
    assert result.errors == {}
    assert result.unknown == []


def test_the_parser_knows_every_documented_parameter():
    documented = {k.lower() for k in SEED_TABLE} - {"customerid"}
    assert documented <= set(PARAMETERS)
    assert "addedaliases" in PARAMETERS  # the correct spelling too


def test_parameter_names_match_case_insensitively():
    result = parse_prefill(
        [
            ("CUSTOMERID", GUID),
            ("GIVENNAME", "Anna"),
            ("mustchangepass", "YES"),
            ("PrimDomain", "NORTHWIND.CO.UK"),
        ],
        domains=DOMAINS,
    )
    assert result.tenant_value == GUID
    assert result.initial == {"given_name": "Anna", "must_change_password": True, "domain": "northwind.co.uk"}


def test_tenant_synonyms_and_precedence():
    assert tenant_value([("tenant", "a.com")]) == "a.com"
    assert tenant_value([("tenantFilter", "b.com")]) == "b.com"
    assert tenant_value([("tenant", "a.com"), ("customerId", GUID)]) == GUID
    assert tenant_value([("tenantFilter", "b.com"), ("tenant", "a.com")]) == "b.com"
    assert tenant_value([("city", "x")]) == ""
    assert tenant_value([("customerId", "  ")]) == ""


def test_must_change_pass_words():
    for word in ("true", "TRUE", "1", "yes", "Yes", "on"):
        assert parse_prefill([("MustChangePass", word)]).initial["must_change_password"] is True, word
    for word in ("false", "False", "0", "no", "NO", "off", ""):
        result = parse_prefill([("MustChangePass", word)])
        assert result.initial["must_change_password"] is False, word
        assert result.errors == {}
    odd = parse_prefill([("MustChangePass", "maybe")])
    assert odd.initial["must_change_password"] is False
    assert "must_change_password" in odd.errors
    assert parse_prefill([]).initial.get("must_change_password") is None  # absent: the form's default (off)
    assert parse_boolean("  Yes ") is True


def test_both_alias_spellings_combine_and_bare_names_get_the_link_domain():
    result = parse_prefill(
        [
            ("primDomain", "northwind.co.uk"),
            ("addedAliasses", "a\nb"),
            ("addedAliases", "c@northwindtraders.com"),
        ],
        domains=DOMAINS,
    )
    assert result.initial["aliases"].split("\n") == [
        "a@northwind.co.uk",
        "b@northwind.co.uk",
        "c@northwindtraders.com",
    ]
    assert result.errors == {}


def test_bare_aliases_get_the_default_domain_without_prim_domain():
    result = parse_prefill(QueryDict("addedAliasses=info%0Asales"), domains=DOMAINS)
    assert result.initial["aliases"] == "info@northwindtraders.com\nsales@northwindtraders.com"


def test_alias_on_a_foreign_domain_is_an_error_but_kept():
    result = parse_prefill([("addedAliases", "x@contoso.com")], domains=DOMAINS)
    assert result.initial["aliases"] == "x@contoso.com"
    assert "contoso.com" in result.errors["aliases"][0]


def test_prim_domain_from_a_website_address():
    for value in ("northwindtraders.com", "www.northwindtraders.com", "https://www.northwindtraders.com/",
                  "http://Northwindtraders.com/contact?x=1", "HTTPS://WWW.NORTHWINDTRADERS.COM:443/a#b",
                  "northwindtraders.com."):  # fmt: skip
        result = parse_prefill([("primDomain", value)], domains=DOMAINS)
        assert result.initial["domain"] == "northwindtraders.com", value
        assert result.errors == {}, value
    assert normalise_domain("https://user:pw@www.x.org/p") == "x.org"
    assert match_domain("www.northwind.co.uk", DOMAINS) == "northwind.co.uk"
    assert match_domain("shop.northwindtraders.com", DOMAINS) is None


def test_prim_domain_not_owned_is_an_error_and_kept_visible():
    result = parse_prefill([("primDomain", "https://www.contoso.com/")], domains=DOMAINS)
    assert result.initial["domain"] == "https://www.contoso.com/"
    assert "not one of this tenant's verified domains" in result.errors["domain"][0]


def test_blank_prim_domain_and_usage_location_mean_defaults():
    result = parse_prefill([("primDomain", ""), ("usageLocation", "")], domains=DOMAINS)
    assert "domain" not in result.initial
    assert result.initial["usage_location"] == ""
    assert result.errors == {}


def test_usage_location_code_or_name_else_error():
    assert parse_prefill([("usageLocation", "Netherlands")]).initial["usage_location"] == "NL"
    bad = parse_prefill([("usageLocation", "XX")])
    assert bad.initial["usage_location"] == "XX"
    assert "ISO 3166" in bad.errors["usage_location"][0]


def test_over_long_values_are_kept_with_the_rules_message():
    long_city = "R" * (rules.MAX_LENGTH["city"] + 5)
    result = parse_prefill([("city", long_city), ("givenName", "G" * 65)])
    assert result.initial["city"] == long_city
    assert result.errors["city"] == [rules.length_problem("city", long_city)]
    assert "given_name" in result.errors


def test_mail_nickname_pattern_and_full_address():
    bad = parse_prefill([("mailNickname", "anna devries")])
    assert bad.initial["username"] == "anna devries"
    assert bad.errors["username"]
    full = parse_prefill([("mailNickname", "anna@www.northwind.co.uk")], domains=DOMAINS)
    assert full.initial["username"] == "anna"
    assert full.initial["domain"] == "northwind.co.uk"
    both = parse_prefill([("mailNickname", "anna@northwind.co.uk"), ("primDomain", "northwindtraders.com")],
                         domains=DOMAINS)  # fmt: skip
    assert both.initial["domain"] == "northwindtraders.com"


def test_unknown_parameters_are_listed_once_in_order():
    result = parse_prefill([("foo", "1"), ("tenantFilter", GUID), ("Bar", "2"), ("foo", "3"), ("city", "X")])
    assert result.unknown == ["foo", "Bar"]
    assert result.initial == {"city": "X"}


def test_control_characters_are_dropped():
    result = parse_prefill([("city", "Rot\x00ter\x1bdam\r\n"), ("givenName", "\ud800Anna")])
    assert result.initial["city"] == "Rotterdam"
    assert result.initial["given_name"] == "Anna"


def test_the_seed_livelink_with_placeholders_filled():
    """The exact LiveLink of the seed page (AutoTask), placeholders filled the way AutoTask fills them."""
    link = (
        "city=Rotterdam&country=Netherlands&customerId="
        + GUID
        + "&primDomain=https://www.northwindtraders.com/"
        "&usageLocation=NL&streetAddress=Coolsingel%2040&companyName=Northwind%20Traders"
        "&businessPhones=%2B31%2010%20123%204567&postalCode=3011%20AB&givenName=Anna&surname=de%20Vries"
    )
    result = parse_prefill(QueryDict(link), domains=DOMAINS)
    assert result.tenant_value == GUID
    assert result.errors == {} and result.unknown == []
    assert result.initial == {
        "city": "Rotterdam",
        "country": "Netherlands",
        "domain": "northwindtraders.com",
        "usage_location": "NL",
        "street_address": "Coolsingel 40",
        "company_name": "Northwind Traders",
        "business_phone": "+31 10 123 4567",
        "postal_code": "3011 AB",
        "given_name": "Anna",
        "surname": "de Vries",
    }


def test_link_parameters_round_trip_through_the_parser():
    """What "Copy prefill link" writes is read back into the same fields."""
    values = {
        "given_name": "Anna", "surname": "de Vries", "display_name": "Anna dV", "username": "anna",
        "domain": "northwind.co.uk", "aliases": "a@northwind.co.uk\nb@northwind.co.uk", "usage_location": "NL",
        "must_change_password": True, "job_title": "J", "department": "D", "company_name": "C",
        "street_address": "S 1", "city": "R", "state": "ZH", "postal_code": "1", "country": "Netherlands",
        "business_phone": "+31", "mobile_phone": "+316",
    }  # fmt: skip
    assert set(values) == set(LINK_PARAMETERS)
    pairs = [("customerId", GUID)] + [
        (LINK_PARAMETERS[name], "true" if value is True else value) for name, value in values.items()
    ]
    result = parse_prefill(pairs, domains=DOMAINS)
    assert result.errors == {} and result.unknown == []
    assert result.initial == values


def test_input_shapes():
    assert parse_prefill({"city": "A"}).initial == {"city": "A"}
    assert parse_prefill({"city": ["A", "B"]}).initial == {"city": "B"}  # the last one wins
    assert parse_prefill(None).initial == {}
    assert parse_prefill([("city",), 5, ("x", "y", "z")]).initial == {}


# --- properties -------------------------------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from([*PARAMETERS, "customerId", "tenant", "tenantFilter", "MUSTCHANGEPASS", "addedAliasses"]),
    st.text(max_size=30),
)
VALUES = st.one_of(st.text(max_size=300), st.sampled_from(["true", "0", "www.northwind.co.uk", "nl", "a\nb"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(NAMES, VALUES), max_size=25), st.booleans())
def test_arbitrary_parameters_never_raise(pairs, with_domains):
    result = parse_prefill(pairs, domains=DOMAINS if with_domains else None)
    # Only known form fields are filled, with text (or the checkbox's bool).
    allowed = set(PARAMETERS.values())
    assert set(result.initial) <= allowed
    assert set(result.errors) <= allowed
    for name, value in result.initial.items():
        assert isinstance(value, bool) if name == "must_change_password" else isinstance(value, str)
    # Every unknown name really is unknown.
    known = set(PARAMETERS) | {"customerid", "tenant", "tenantfilter"}
    assert all(name.strip().lower() not in known for name in result.unknown)
    # A domain offered without an error is one of the tenant's.
    if with_domains and "domain" in result.initial and "domain" not in result.errors:
        assert result.initial["domain"] in DOMAINS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_arbitrary_query_strings_parse(query):
    result = parse_prefill(QueryDict(query), domains=DOMAINS)
    assert isinstance(result.unknown, list)
    tenant_value(QueryDict(query))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalise_domain_is_total_and_idempotent(value):
    once = normalise_domain(value)
    assert normalise_domain(once) == once or once.startswith("www.")
