"""GET /users/{id}/drive: the user's OneDrive, or 404 itemNotFound when none is provisioned.

The sandbox never auto-provisions on read (Graph does so only for delegated calls on a licensed user that
has signed in before); provisioning is the pre-provision action's job.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import GraphProblem
from ..models import SandboxDrive
from ..sharepoint import complete_due_provisioning
from .common import context_url, get_user, graph_json


def drive_json(drive: SandboxDrive) -> dict:
    user = drive.user
    owner = {"user": {"displayName": user.display_name, "id": str(user.id)}}
    remaining = max(0, drive.quota_total - drive.quota_used)
    state = "normal"
    if drive.quota_total and drive.quota_used / drive.quota_total >= 0.98:
        state = "exceeded" if drive.quota_used >= drive.quota_total else "critical"
    elif drive.quota_total and drive.quota_used / drive.quota_total >= 0.9:
        state = "nearing"
    return {
        "id": drive.id,
        "createdDateTime": graph_now(drive.created_datetime),
        "description": "",
        "driveType": "business",
        "lastModifiedDateTime": graph_now(drive.created_datetime),
        "name": "OneDrive",
        "webUrl": drive.web_url or None,
        "createdBy": {"user": {"displayName": "System Account"}},
        "owner": owner,
        "quota": {
            "deleted": drive.quota_deleted,
            "remaining": remaining,
            "state": state,
            "total": drive.quota_total,
            "used": drive.quota_used,
        },
    }


@graph_endpoint(methods=("GET",))
def user_drive(request: HttpRequest, user_key: str) -> HttpResponse:
    user = get_user(request, user_key)
    complete_due_provisioning(user=user)  # a requested OneDrive appears once its provisioning time is up
    drive = SandboxDrive.objects.select_related("user").filter(user=user).first()
    if drive is None:
        raise GraphProblem(404, "itemNotFound", "The resource could not be found.")
    return graph_json({"@odata.context": context_url(request, "drives/$entity"), **drive_json(drive)})
