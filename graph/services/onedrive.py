"""A user's OneDrive: provisioned (with quota) or not (Graph answers 404 ``itemNotFound``)."""

from __future__ import annotations

from graph.client import GraphClient
from graph.errors import NotFoundError

DRIVE_SELECT = "id,driveType,webUrl,quota,createdDateTime,lastModifiedDateTime"


def get_onedrive_status(client: GraphClient, user_id: str) -> dict:
    """``{"provisioned": False}`` or ``{"provisioned": True, id, web_url, used, total, remaining, deleted,
    state, percent, created}``."""
    try:
        drive = client.get(f"/users/{user_id}/drive", params={"$select": DRIVE_SELECT})
    except NotFoundError:
        return {"provisioned": False}
    quota = drive.get("quota") or {}
    used, total = int(quota.get("used") or 0), int(quota.get("total") or 0)
    return {
        "provisioned": True,
        "id": drive.get("id") or "",
        "web_url": drive.get("webUrl") or "",
        "used": used,
        "total": total,
        "remaining": int(quota.get("remaining") or max(0, total - used)),
        "deleted": int(quota.get("deleted") or 0),
        "state": quota.get("state") or "",
        "percent": round(100 * used / total, 1) if total else 0.0,
        "created": drive.get("createdDateTime"),
    }
