"""POST /users/{id}/assignLicense and GET /subscribedSkus."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse

from .. import directory_licences
from ..auth import graph_endpoint
from ..errors import bad_request
from ..models import SandboxSku
from .common import context_url, get_user, graph_json, read_json_body, user_json


@graph_endpoint(methods=("POST",))
def assign_license(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    body = read_json_body(request)
    user = directory_licences.assign_license(user, body.get("addLicenses"), body.get("removeLicenses"))
    return graph_json({"@odata.context": context_url(request, "users/$entity"), **user_json(user, None)})


def sku_json(sku: SandboxSku, consumed: int) -> dict:
    tenant_id = str(sku.tenant_id)
    return {
        "accountName": sku.tenant.display_name,
        "accountId": tenant_id,
        "appliesTo": sku.applies_to,
        "capabilityStatus": sku.capability_status,
        "consumedUnits": consumed,
        "id": f"{tenant_id}_{sku.sku_id}",
        "skuId": str(sku.sku_id),
        "skuPartNumber": sku.sku_part_number,
        "subscriptionIds": [],
        "prepaidUnits": {
            "enabled": sku.prepaid_enabled,
            "suspended": sku.prepaid_suspended,
            "warning": sku.prepaid_warning,
            "lockedOut": sku.prepaid_locked_out,
        },
        "servicePlans": [
            {
                "servicePlanId": plan.get("servicePlanId"),
                "servicePlanName": plan.get("servicePlanName"),
                "provisioningStatus": plan.get("provisioningStatus", "Success"),
                "appliesTo": plan.get("appliesTo", "User"),
            }
            for plan in sku.service_plans
        ],
    }


@graph_endpoint(methods=("GET",))
def subscribed_skus(request: HttpRequest) -> HttpResponse:
    extra = [k for k in request.GET if k.startswith("$") and k != "$select"]
    if extra:
        raise bad_request(
            f"Query option '{extra[0]}' is not supported on subscribedSkus by the sandbox.", "BadRequest"
        )
    skus = (
        SandboxSku.objects.filter(tenant=request.graph_tenant)
        .select_related("tenant")
        .annotate(consumed=Count("assignments", filter=Q(assignments__user__deleted_datetime__isnull=True)))
        .order_by("sku_part_number")
    )
    items = [sku_json(sku, sku.consumed) for sku in skus]
    select = [s.strip() for s in request.GET.get("$select", "").split(",") if s.strip()]
    if select:
        items = [{k: item.get(k) for k in select} for item in items]
    return graph_json({"@odata.context": context_url(request, "subscribedSkus"), "value": items})
