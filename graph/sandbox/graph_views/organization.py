"""GET /organization and GET /domains of the token's tenant."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..directory import graph_now
from ..models import SandboxDomain
from .common import context_url, graph_json

_CAPABILITIES = "Email, OfficeCommunicationsOnline"


def _verified_domain(domain: SandboxDomain) -> dict:
    return {
        "capabilities": _CAPABILITIES if not domain.is_initial else "Email, OfficeCommunicationsOnline",
        "isDefault": domain.is_default,
        "isInitial": domain.is_initial,
        "name": domain.name,
        "type": domain.authentication_type,
    }


@graph_endpoint(methods=("GET",))
def organization(request: HttpRequest) -> HttpResponse:
    tenant = request.graph_tenant
    domains = list(tenant.domains.filter(is_verified=True))
    item = {
        "id": str(tenant.id),
        "deletedDateTime": None,
        "displayName": tenant.display_name,
        "countryLetterCode": tenant.country_letter_code,
        "createdDateTime": graph_now(tenant.created_datetime),
        "onPremisesSyncEnabled": bool(tenant.settings.get("onPremisesSyncEnabled")) or None,
        "onPremisesLastSyncDateTime": None,
        "tenantType": "AAD",
        "verifiedDomains": [_verified_domain(d) for d in domains],
    }
    return graph_json({"@odata.context": context_url(request, "organization"), "value": [item]})


@graph_endpoint(methods=("GET",))
def domains(request: HttpRequest) -> HttpResponse:
    items = [
        {
            "id": domain.name,
            "authenticationType": domain.authentication_type,
            "isAdminManaged": True,
            "isDefault": domain.is_default,
            "isInitial": domain.is_initial,
            "isRoot": True,
            "isVerified": domain.is_verified,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        }
        for domain in request.graph_tenant.domains.all()
    ]
    return graph_json({"@odata.context": context_url(request, "domains"), "value": items})
