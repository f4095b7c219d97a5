"""GET /tenantRelationships/delegatedAdminCustomers: a partner tenant's active GDAP customers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..errors import GraphProblem
from ..models import SandboxGdapRelationship
from ..odata import ListQuery, parse_top
from .common import collection_body, graph_json
from .paging import expired_page_token, link_with, read_token, sign_token

MAX_TOP = 300


@graph_endpoint(methods=("GET",))
def delegated_admin_customers(request: HttpRequest) -> HttpResponse:
    tenant = request.graph_tenant
    if not tenant.is_partner:
        raise GraphProblem(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    top = parse_top(request.GET.get("$top"), MAX_TOP) or MAX_TOP
    relationships = (
        SandboxGdapRelationship.objects.filter(partner=tenant, status="active")
        .select_related("customer")
        .order_by("customer_id")
    )
    scope = ListQuery().fingerprint(f"{tenant.id}:gdap")
    if request.GET.get("$skiptoken"):
        payload = read_token(request.GET["$skiptoken"])
        if payload.get("f") != scope:
            raise expired_page_token()
        relationships = relationships.filter(customer_id__gt=payload["id"])
    rows = list(relationships[: top + 1])
    next_link = None
    if len(rows) > top:
        rows = rows[:top]
        next_link = link_with(
            request, **{"$skiptoken": sign_token({"f": scope, "id": str(rows[-1].customer_id)})}
        )
    items = [
        {
            "@odata.etag": f'W/"{int(rel.created_datetime.timestamp())}"',
            "id": str(rel.customer_id),
            "tenantId": str(rel.customer_id),
            "displayName": rel.customer.display_name,
        }
        for rel in rows
    ]
    return graph_json(
        collection_body(request, "tenantRelationships/delegatedAdminCustomers", items, next_link=next_link)
    )
