"""Row builders and fixed facts for seed_compromise: the attacker's app, Graph-shaped sign-ins and directory
audits, Exchange admin audit records and message-trace rows."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from .models import SandboxMessageTrace
from .seed_people import iso

GRAPH_APP_ID = uuid.UUID("00000003-0000-0000-c000-000000000000")
# Microsoft's first-party applications are registered in this tenant (appOwnerOrganizationId).
MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
# A multi-tenant app from an unknown publisher: no verifiedPublisher, registered in someone else's tenant.
MAIL_SYNC_APP = {
    "appId": uuid.UUID("5e0a4c7b-9d3e-4f1a-8b6c-2f7d1e9a3c51"),
    "displayName": "Mail Sync Pro",
    "appDisplayName": "Mail Sync Pro",
    "appOwnerOrganizationId": "3b9d6e1f-0a4c-4e8b-9f2d-7c5a1e6b8d40",
    "publisherName": "mailsyncpro",
    "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
    "signInAudience": "AzureADandPersonalMicrosoftAccount",
    "appRoles": [],
}
EXCHANGE_SERVER = "NAMPR01A001.prod.outlook.com"
EXTERNAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.co.uk", "btinternet.com")
SPRAY_SUBJECT = "Updated remittance details - action required"
ORDINARY_SUBJECTS = ("Re: Weekly sales figures", "Meeting notes", "Re: Holiday cover", "Quote follow-up")
FIRST_NAMES = ("alex", "sam", "jordan", "taylor", "morgan", "casey", "jamie", "robin", "drew", "chris")


def sign_in_properties(user, moment: datetime, app: tuple, place: tuple, ip: str, *, client: str | None = None,
                       failure: tuple | None = None) -> dict:  # fmt: skip
    """A Graph signIn in the shape seed_activity writes (app = seed_activity.APPS row, place = a location)."""
    client_app = client or app[4]
    status = {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}
    if failure:
        status = {"errorCode": failure[0], "failureReason": failure[1], "additionalDetails": None}
    return {
        "createdDateTime": iso(moment), "userDisplayName": user.display_name,
        "userPrincipalName": user.upn_lower, "userId": str(user.pk), "appId": app[1], "appDisplayName": app[0],
        "ipAddress": ip, "clientAppUsed": client_app, "conditionalAccessStatus": "notApplied",
        "isInteractive": client_app == "Browser", "resourceDisplayName": app[2], "resourceId": app[3],
        "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
        "riskEventTypes": [], "riskEventTypes_v2": [], "status": status,
        "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": "Windows10",
                         "browser": "Chrome 124.0.0" if client_app == "Browser" else "",
                         "isCompliant": False, "isManaged": False, "trustType": ""},
        "location": {"city": place[2], "state": place[1], "countryOrRegion": place[0],
                     "geoCoordinates": {"altitude": None, "latitude": place[3], "longitude": place[4]}},
        "appliedConditionalAccessPolicies": [],
    }  # fmt: skip


def audit_event(audit_id: str, moment: datetime, *, activity: str, category: str, operation: str, actor: dict,
                targets: list[dict], modified: list[tuple[str, str]] = (), service: str = "Core Directory",
                reason: str = "") -> dict:  # fmt: skip
    """SandboxDirectoryAudit fields for one directoryAudit (actor: {id, upn, name, ip}; targets: {id, type,
    name, upn?}; ``modified`` goes on the first target, as Entra records it)."""
    resources = []
    for index, target in enumerate(targets):
        resources.append({
            "id": target["id"], "displayName": target.get("name"), "type": target["type"],
            "userPrincipalName": target.get("upn"), "groupType": None,
            "modifiedProperties": [{"displayName": name, "oldValue": None, "newValue": f'"{value}"'}
                                   for name, value in (modified if index == 0 else ())],
        })  # fmt: skip
    properties = {
        "category": category, "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, audit_id)), "result": "success",
        "resultReason": reason, "activityDisplayName": activity, "activityDateTime": iso(moment),
        "loggedByService": service, "operationType": operation,
        "initiatedBy": {"app": None, "user": {"id": actor["id"], "displayName": actor.get("name"),
                                              "userPrincipalName": actor["upn"], "ipAddress": actor.get("ip", ""),
                                              "userType": None, "homeTenantId": None, "homeTenantName": None}},
        "targetResources": resources,
        "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}],
    }  # fmt: skip
    return {
        "id": audit_id,
        "activity_datetime": moment,
        "activity_display_name": activity,
        "category": category,
        "initiated_by_user_id": actor["id"].lower(),
        "initiated_by_upn": actor["upn"].lower(),
        "target_ids": "|" + "|".join(t["id"].lower() for t in targets) + "|",
        "properties": properties,
    }


def exchange_record(tenant, domain: str, moment: datetime, *, operation: str, actor: str, ip: str, alias: str,
                    object_suffix: str, parameters: list[tuple[str, str]], record_type: str = "ExchangeAdmin",
                    owner: str | None = None) -> dict:  # fmt: skip
    """SandboxUnifiedAuditRecord fields for one Exchange audit record (admin cmdlet or mailbox item event)."""
    object_id = f"{EXCHANGE_SERVER}/Microsoft Exchange Hosted Organizations/{domain}/{object_suffix}"
    user_key = int(hashlib.sha256(actor.encode()).hexdigest()[:10], 16) % 10**12
    data = {
        "OrganizationId": str(tenant.pk),
        "UserType": 0,
        "UserKey": f"1003{user_key:012d}",
        "Workload": "Exchange",
        "ResultStatus": "True",
        "ClientIP": f"{ip}:{40000 + len(alias) * 97}",
        "ExternalAccess": False,
        "OrganizationName": domain,
        "OriginatingServer": "SANDBOX01MB0001 (15.20.7452.028)",
    }
    if record_type == "ExchangeItem":
        data.update(MailboxOwnerUPN=owner or actor, LogonType=0, ClientInfoString="Client=MSExchangeRPC",
                    OperationProperties=[{"Name": n, "Value": v} for n, v in parameters])  # fmt: skip
    else:
        data["Parameters"] = [{"Name": n, "Value": v} for n, v in parameters]
    return {
        "tenant": tenant,
        "creation_date": moment,
        "record_type": record_type,
        "operation": operation,
        "user_id": actor.lower(),
        "object_id": object_id,
        "audit_data": data,
    }


def message_rows(ctx, sender: str, start: datetime, *, count: int, per_message: int, external: bool,
                 ip: str) -> list[SandboxMessageTrace]:  # fmt: skip
    """``count`` messages from ``sender``, a few minutes apart from ``start``, each to ``per_message``
    recipients outside (``external``) or inside the tenant."""
    rows = []
    colleagues = [p.upn for p in ctx.people if p.kind == "member" and p.upn.lower() != sender] or [sender]
    for number in range(count):
        moment = start + timedelta(minutes=7 * number)
        trace_id = ctx.id_for("trace", sender, moment.isoformat())
        subject = (
            SPRAY_SUBJECT
            if external and per_message > 1
            else ORDINARY_SUBJECTS[number % len(ORDINARY_SUBJECTS)]
        )
        for slot in range(per_message):
            serial = number * per_message + slot
            if external:
                domain = EXTERNAL_DOMAINS[serial % len(EXTERNAL_DOMAINS)]
                recipient = f"{FIRST_NAMES[serial % len(FIRST_NAMES)]}.{serial}@{domain}"
            else:
                recipient = colleagues[serial % len(colleagues)].lower()
            rows.append(SandboxMessageTrace(
                tenant=ctx.tenant, message_trace_id=trace_id, received=moment, sender_address=sender.lower(),
                recipient_address=recipient, subject=subject, status="Delivered", from_ip=ip,
                to_ip="" if not external else "203.0.113.25", size=18_000 + 137 * serial,
                message_id=f"<{trace_id.hex[:20]}@{sender.split('@')[1]}>",
            ))  # fmt: skip
    return rows
