"""Licence assignment in the sandbox directory (``POST /users/{id}/assignLicense``): Graph's checks and
errors, units counted under a row lock, and the user's Graph licence properties and mailbox kept in step.
Split from ``directory`` (the other directory writers), whose user save and clock it uses."""

from __future__ import annotations

import uuid

from django.db import transaction

from .directory import _save, graph_now
from .errors import bad_request
from .mailbox_provisioning import provision_mailbox
from .models import SandboxLicenseAssignment, SandboxSku, SandboxUser


def _as_uuid(value, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise bad_request(message) from None


def sku_consumed_units(sku: SandboxSku) -> int:
    return sku.assignments.filter(user__deleted_datetime__isnull=True).count()


def _license_properties(assignments: list[SandboxLicenseAssignment]) -> tuple[list, list, list]:
    assigned, plans, states = [], [], []
    now = graph_now()
    for assignment in assignments:
        sku_id = str(assignment.sku.sku_id)
        disabled = [str(p) for p in assignment.disabled_plans]
        assigned.append({"disabledPlans": disabled, "skuId": sku_id})
        states.append(
            {
                "assignedByGroup": None,
                "disabledPlans": disabled,
                "error": "None",
                "lastUpdatedDateTime": now,
                "skuId": sku_id,
                "state": "Active",
            }
        )
        for plan in assignment.sku.service_plans:
            if str(plan.get("servicePlanId")) in disabled:
                continue
            plans.append(
                {
                    "assignedDateTime": now,
                    "capabilityStatus": "Enabled",
                    "service": plan.get("service") or plan.get("servicePlanName"),
                    "servicePlanId": plan.get("servicePlanId"),
                }
            )
    return assigned, plans, states


def assign_license(user: SandboxUser, add_licenses, remove_licenses) -> SandboxUser:
    """POST /users/{id}/assignLicense: both lists required (may be empty)."""
    if add_licenses is None or remove_licenses is None:
        missing = "addLicenses" if add_licenses is None else "removeLicenses"
        raise bad_request(
            f"The parameter '{missing}' in the request payload is not a valid parameter.", "BadRequest"
        )
    if not isinstance(add_licenses, list) or not isinstance(remove_licenses, list):
        raise bad_request("Invalid license assignment request.", "BadRequest")
    tenant = user.tenant
    skus = {sku.sku_id: sku for sku in SandboxSku.objects.filter(tenant=tenant)}
    to_add: list[tuple[SandboxSku, list[str]]] = []
    for item in add_licenses:
        if not isinstance(item, dict) or "skuId" not in item:
            raise bad_request("Invalid license assignment request.", "BadRequest")
        sku_id = _as_uuid(
            item["skuId"], f"License {item['skuId']} does not correspond to a valid company License."
        )
        if sku_id not in skus:
            raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
        disabled = item.get("disabledPlans") or []
        if not isinstance(disabled, list):
            raise bad_request("Invalid license assignment request.", "BadRequest")
        known_plans = {str(p.get("servicePlanId")) for p in skus[sku_id].service_plans}
        disabled = [str(_as_uuid(p, f"Invalid disabled plan id {p}.")) for p in disabled]
        for plan in disabled:
            if plan not in known_plans:
                raise bad_request(f"Service plan {plan} does not exist in license {sku_id}.")
        to_add.append((skus[sku_id], disabled))
    to_remove = []
    for value in remove_licenses:
        sku_id = _as_uuid(value, f"License {value} does not correspond to a valid company License.")
        if sku_id not in skus:
            raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
        to_remove.append(skus[sku_id])
    if to_add and not user.properties.get("usageLocation"):
        raise bad_request("License assignment cannot be done for user with invalid usage location.")
    with transaction.atomic():
        held = set(user.licenses.values_list("sku_id", flat=True))
        for sku in to_remove:
            if sku.pk not in held:
                raise bad_request("User does not have a corresponding license.")
        for sku, disabled in to_add:
            # Lock the SKU row so two concurrent assignments cannot both take the last unit.
            locked = SandboxSku.objects.select_for_update().get(pk=sku.pk)
            if sku.pk in held:
                SandboxLicenseAssignment.objects.filter(user=user, sku=sku).update(disabled_plans=disabled)
                continue
            if sku_consumed_units(locked) >= locked.prepaid_enabled:
                raise bad_request(
                    f"Subscription with SKU '{sku.sku_id}' does not have any available licenses."
                )
            SandboxLicenseAssignment.objects.create(user=user, sku=sku, disabled_plans=disabled)
        SandboxLicenseAssignment.objects.filter(user=user, sku__in=to_remove).delete()
        # Read once: the Graph properties and the mailbox check both need the user's assignments with SKUs.
        assignments = list(user.licenses.select_related("sku").order_by("sku__sku_part_number"))
        assigned, plans, states = _license_properties(assignments)
        user.properties = {
            **user.properties,
            "assignedLicenses": assigned,
            "assignedPlans": plans,
            "licenseAssignmentStates": states,
        }
        provision_mailbox(user, assignments)
        return _save(user)
