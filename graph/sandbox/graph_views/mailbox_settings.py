"""GET /users/{id}/mailboxSettings, read from the Exchange side (SandboxMailbox), so Graph and the
Exchange cmdlets always agree on automatic replies. A user without a mailbox gets Graph's
``MailboxNotEnabledForRESTAPI`` 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..errors import GraphProblem
from ..models import SandboxMailbox
from .common import context_url, get_user, graph_json

STATUS_FROM_EXCHANGE = {"enabled": "alwaysEnabled", "disabled": "disabled", "scheduled": "scheduled"}
AUDIENCE_FROM_EXCHANGE = {"none": "none", "known": "contactsOnly", "all": "all"}
# Working-hours time zone per usage location: enough for the seeded countries.
TIME_ZONES = {
    "GB": "GMT Standard Time",
    "US": "Pacific Standard Time",
    "AU": "AUS Eastern Standard Time",
    "NL": "W. Europe Standard Time",
    "DE": "W. Europe Standard Time",
}
LOCALES = {"GB": ("en-GB", "English (United Kingdom)"), "AU": ("en-AU", "English (Australia)")}


def _scheduled(value) -> dict:
    text = str(value or "").replace("Z", "").replace("+00:00", "")
    if text and "." not in text:
        text += ".0000000"
    return {"dateTime": text or "0001-01-01T00:00:00.0000000", "timeZone": "UTC"}


def automatic_replies(mailbox: SandboxMailbox) -> dict:
    reply = mailbox.auto_reply or {}
    return {
        "status": STATUS_FROM_EXCHANGE.get(str(reply.get("AutoReplyState", "Disabled")).lower(), "disabled"),
        "externalAudience": AUDIENCE_FROM_EXCHANGE.get(
            str(reply.get("ExternalAudience", "All")).lower(), "all"
        ),
        "internalReplyMessage": reply.get("InternalMessage") or "",
        "externalReplyMessage": reply.get("ExternalMessage") or "",
        "scheduledStartDateTime": _scheduled(reply.get("StartTime")),
        "scheduledEndDateTime": _scheduled(reply.get("EndTime")),
    }


def mailbox_settings_json(mailbox: SandboxMailbox) -> dict:
    user = mailbox.user
    country = user.properties.get("usageLocation") or user.tenant.country_letter_code
    zone = TIME_ZONES.get(country, "UTC")
    locale, language = LOCALES.get(country, ("en-US", "English (United States)"))
    shared = mailbox.recipient_type_details == "SharedMailbox"
    return {
        "archiveFolder": None,
        "timeZone": zone,
        "dateFormat": "dd/MM/yyyy" if locale != "en-US" else "M/d/yyyy",
        "timeFormat": "HH:mm" if locale != "en-US" else "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "shared" if shared else "user",
        "automaticRepliesSetting": automatic_replies(mailbox),
        "language": {"locale": locale, "displayName": language},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            # Graph writes "08:00:00.0000000"; the contract's time format only takes whole seconds.
            "startTime": "08:00:00",
            "endTime": "17:00:00",
            "timeZone": {"name": zone},
        },
    }


@graph_endpoint(methods=("GET",))
def mailbox_settings(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    mailbox = SandboxMailbox.objects.select_related("user__tenant").filter(user=user).first()
    if mailbox is None:
        raise GraphProblem(
            404,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    body = {"@odata.context": context_url(request, f"users('{user.id}')/mailboxSettings")}
    body.update(mailbox_settings_json(mailbox))
    return graph_json(body)
