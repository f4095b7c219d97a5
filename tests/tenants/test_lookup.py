import uuid

import pytest

from tenants.lookup import resolve_tenant, search_tenants


@pytest.fixture
def fabrikam(make_tenant):
    return make_tenant("Fabrikam Ltd", "fabrikam.com", "fabrikam.onmicrosoft.com", "Fabrikam.co.uk")


@pytest.mark.django_db
class TestResolveTenant:
    def test_by_guid_in_any_case(self, fabrikam):
        assert resolve_tenant(str(fabrikam.tenant_id).upper()) == fabrikam
        assert resolve_tenant(fabrikam.tenant_id) == fabrikam

    def test_by_default_and_by_any_other_domain_case_insensitive(self, fabrikam):
        assert resolve_tenant("FABRIKAM.COM") == fabrikam
        assert resolve_tenant(" fabrikam.onmicrosoft.com ") == fabrikam
        assert resolve_tenant("fabrikam.co.uk") == fabrikam  # stored lower-case by TenantDomain.save

    def test_unknown_blank_and_none(self, fabrikam):
        assert resolve_tenant(str(uuid.uuid4())) is None
        assert resolve_tenant("nobody.example") is None
        assert resolve_tenant("") is None
        assert resolve_tenant(None) is None

    def test_default_domain_without_domain_rows(self, connection):
        from tenants.models import Tenant

        bare = Tenant.objects.create(
            tenant_id=uuid.uuid4(), connection=connection, display_name="Bare", default_domain="bare.example"
        )
        assert resolve_tenant("Bare.Example") == bare


@pytest.mark.django_db
def test_search_matches_name_any_domain_and_exact_guid(make_tenant):
    fabrikam = make_tenant("Fabrikam Ltd", "fabrikam.com", "fab-legacy.net")
    contoso = make_tenant("Contoso", "contoso.com")
    assert list(search_tenants("fabri")) == [fabrikam]
    assert list(search_tenants("LEGACY")) == [fabrikam]
    assert list(search_tenants(str(contoso.tenant_id))) == [contoso]
    assert set(search_tenants("")) == {fabrikam, contoso}
    assert list(search_tenants("zzz")) == []
