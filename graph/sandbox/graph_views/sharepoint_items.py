"""SharePoint through Graph: sites, library folders reached by URL, and a user's OneDrive root children.

* ``GET /shares/{shareId}/driveItem`` — ``shareId`` is ``u!`` + unpadded base64url of a URL; any URL of a
  library or folder of the caller's tenant resolves (Graph accepts plain item URLs, not only sharing links).
* ``GET /sites/root``, ``GET /sites/{hostname}``, ``GET /sites/{hostname}:/{path}``, ``GET /sites/{id}``
  and ``GET /sites/{id}/drive/root`` (the default "Documents" library's root).
* ``GET|POST /users/{id}/drive/root/children`` — list the root of a user's OneDrive, or add a folder or a
  shortcut (``remoteItem`` with ``id`` and ``parentReference.driveId``, both required). Name clashes follow
  ``@microsoft.graph.conflictBehavior`` (body annotation or query parameter; default ``fail`` → 409
  ``nameAlreadyExists``). A user without a provisioned OneDrive gets 404 ``itemNotFound``.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from urllib.parse import unquote, urlsplit

from django.http import HttpRequest, HttpResponse

from ..auth import graph_endpoint
from ..directory import graph_now
from ..errors import GraphProblem, bad_request
from ..models import SandboxDrive, SandboxDriveItem, SandboxSite
from ..sharepoint import complete_due_provisioning
from .common import context_url, get_user, graph_json, read_json_body

CONFLICT_BEHAVIOURS = ("fail", "replace", "rename")
_INVALID_NAME = re.compile(r'["*:<>?/\\|]')


def item_not_found(message: str = "The resource could not be found.") -> GraphProblem:
    return GraphProblem(404, "itemNotFound", message)


def url_key(url: str) -> str:
    """What a pasted URL is matched on: lower-case ``host/decoded path`` without a trailing slash."""
    parts = urlsplit(url.strip())
    return f"{(parts.hostname or '').lower()}{unquote(parts.path).rstrip('/').lower()}"


def _selected(request: HttpRequest, body: dict) -> dict:
    raw = request.GET.get("$select")
    if not raw:
        return body
    names = {name.strip() for name in raw.split(",") if name.strip()}
    return {k: v for k, v in body.items() if k in names or k == "id" or k.startswith("@odata")}


# --- JSON -------------------------------------------------------------------------------------------------


def library_item_json(item: SandboxDriveItem) -> dict:
    body = {
        "id": item.id,
        "name": item.name,
        "webUrl": item.web_url,
        "createdDateTime": graph_now(item.created_datetime),
        "lastModifiedDateTime": graph_now(item.created_datetime),
        "size": 0,
        "parentReference": {"driveId": item.drive_id, "driveType": "documentLibrary"},
        "folder": {"childCount": item.children.count()},
    }
    if item.site_id:
        body["parentReference"]["siteId"] = item.site_id
    if item.parent_id:
        body["parentReference"]["id"] = item.parent_id
    if item.is_root:
        body["root"] = {}
    return body


def site_json(site: SandboxSite) -> dict:
    body = {
        "id": site.id,
        "name": site.path.rsplit("/", 1)[-1] if site.path else site.hostname,
        "displayName": site.display_name,
        "description": site.description,
        "webUrl": site.web_url,
        "createdDateTime": graph_now(site.created_datetime),
        "lastModifiedDateTime": graph_now(site.created_datetime),
        "siteCollection": {"hostname": site.hostname},
    }
    if not site.path:
        body["root"] = {}
    return body


def onedrive_item_json(item: SandboxDriveItem, drive: SandboxDrive) -> dict:
    body = {
        "id": item.id,
        "name": item.name,
        "createdDateTime": graph_now(item.created_datetime),
        "lastModifiedDateTime": graph_now(item.created_datetime),
        "createdBy": {"user": {"displayName": item.created_by or "System Account"}},
        "parentReference": {
            "driveId": drive.id,
            "driveType": "business",
            "id": root_id(drive),
            "path": "/drive/root:",
        },
        "size": 0,
    }
    target = item.remote_item
    if target is not None:
        body["webUrl"] = target.web_url
        body["remoteItem"] = {
            "id": target.id,
            "name": target.library_name if target.is_root else target.name,
            "webUrl": target.web_url,
            "folder": {"childCount": target.children.count()},
            "parentReference": {"driveId": target.drive_id, "driveType": "documentLibrary",
                                "siteId": target.site_id},
        }  # fmt: skip
    else:
        body["webUrl"] = f"{drive.web_url}/{item.name}"
        body["folder"] = {"childCount": 0}
    return body


def root_id(drive: SandboxDrive) -> str:
    return "01" + uuid.uuid5(uuid.NAMESPACE_URL, f"onedrive-root:{drive.id}").hex.upper()[:32]


# --- /shares and /sites -------------------------------------------------------------------------------------


def decode_share_id(share_id: str) -> str:
    if not share_id.startswith("u!") or len(share_id) < 4:
        raise bad_request("Invalid shares key.", code="invalidRequest")
    encoded = share_id[2:]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_request("Invalid shares key.", code="invalidRequest") from None
    if not url.startswith("https://"):
        raise bad_request("Invalid shares key.", code="invalidRequest")
    return url


@graph_endpoint(methods=("GET",))
def share_drive_item(request: HttpRequest, share_id: str) -> HttpResponse:
    url = decode_share_id(share_id)
    item = SandboxDriveItem.objects.filter(
        tenant=request.graph_tenant, url_key=url_key(url), site__isnull=False
    ).first()
    if item is None:
        raise item_not_found("The sharing link no longer exists, or you do not have permission to access it.")
    body = {"@odata.context": context_url(request, "driveItem/$entity"), **library_item_json(item)}
    return graph_json(_selected(request, body))


def _find_site(request: HttpRequest, ref: str) -> SandboxSite:
    sites = SandboxSite.objects.filter(tenant=request.graph_tenant)
    if ref == "root":
        site = sites.filter(path="").first()
    elif ":" in ref:
        host, _, path = ref.partition(":")
        path = unquote(path.rstrip(":").rstrip("/"))
        site = sites.filter(hostname=host.lower(), path__iexact=path).first()
    elif "," in ref:
        site = sites.filter(pk=ref).first()
    else:
        site = sites.filter(hostname=ref.lower(), path="").first()
    if site is None:
        raise item_not_found("Requested site could not be found")
    return site


@graph_endpoint(methods=("GET",))
def site_item(request: HttpRequest, rest: str) -> HttpResponse:
    if rest.endswith("/drive/root"):
        site = _find_site(request, rest.removesuffix("/drive/root"))
        root = (
            SandboxDriveItem.objects.filter(site=site, is_root=True)
            .order_by("created_datetime", "id")
            .first()
        )
        if root is None:
            raise item_not_found()
        body = {"@odata.context": context_url(request, "driveItem/$entity"), **library_item_json(root)}
        return graph_json(_selected(request, body))
    if "/" in rest.split(":", 1)[0]:
        raise bad_request(f"Resource not found for the segment '{rest.split('/')[1]}'.", code="BadRequest")
    site = _find_site(request, rest)
    body = {"@odata.context": context_url(request, "sites/$entity"), **site_json(site)}
    return graph_json(_selected(request, body))


# --- a user's OneDrive root ---------------------------------------------------------------------------------


def _user_drive(request: HttpRequest, user_key: str) -> SandboxDrive:
    user = get_user(request, user_key)
    complete_due_provisioning(user=user)
    drive = SandboxDrive.objects.filter(user=user).select_related("user").first()
    if drive is None:
        raise item_not_found()
    return drive


def _free_name(drive: SandboxDrive, wanted: str) -> str:
    taken = {
        n.lower()
        for n in SandboxDriveItem.objects.filter(drive_id=drive.id, parent=None).values_list(
            "name", flat=True
        )
    }
    if wanted.lower() not in taken:
        return wanted
    stem, dot, ext = wanted.rpartition(".") if "." in wanted else (wanted, "", "")
    number = 1
    while True:
        candidate = f"{stem} {number}{dot}{ext}"
        if candidate.lower() not in taken:
            return candidate
        number += 1


def _create_child(request: HttpRequest, drive: SandboxDrive) -> HttpResponse:
    body = read_json_body(request)
    behaviour = (
        body.get("@microsoft.graph.conflictBehavior")
        or request.GET.get("@microsoft.graph.conflictBehavior")
        or "fail"
    )
    if behaviour not in CONFLICT_BEHAVIOURS:
        raise bad_request(f"Invalid value '{behaviour}' for conflictBehavior.", code="invalidRequest")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The name of the item is missing.", code="invalidRequest")
    if _INVALID_NAME.search(name) or name.endswith((".", " ")) or len(name) > 400:
        raise bad_request("The provided name contains invalid characters.", code="invalidRequest")
    remote, folder = body.get("remoteItem"), body.get("folder")
    if (remote is None) == (folder is None) or "file" in body:
        raise bad_request("Exactly one of folder or remoteItem must be provided.", code="invalidRequest")
    target = None
    if remote is not None:
        parent_ref = (remote.get("parentReference") or {}) if isinstance(remote, dict) else {}
        if not isinstance(remote, dict) or not remote.get("id") or not parent_ref.get("driveId"):
            raise bad_request("remoteItem.id and remoteItem.parentReference.driveId are required.",
                              code="invalidRequest")  # fmt: skip
        target = SandboxDriveItem.objects.filter(
            tenant=request.graph_tenant, pk=remote["id"], drive_id=parent_ref["driveId"], site__isnull=False
        ).first()
        if target is None:
            raise item_not_found("The remote item could not be found.")
    existing = SandboxDriveItem.objects.filter(drive_id=drive.id, parent=None, name__iexact=name)
    if existing.exists():
        if behaviour == "fail":
            raise GraphProblem(409, "nameAlreadyExists", "Name already exists")
        if behaviour == "replace":
            existing.delete()
        else:
            name = _free_name(drive, name)
    claims = request.graph_claims
    item = SandboxDriveItem.objects.create(
        id="01" + uuid.uuid4().hex.upper()[:32],
        tenant=request.graph_tenant,
        drive_id=drive.id,
        user=drive.user,
        name=name,
        remote_item=target,
        created_by=claims.upn or "",
    )
    payload = {"@odata.context": context_url(request, f"users('{drive.user.pk}')/drive/root/children/$entity"),
               **onedrive_item_json(item, drive)}  # fmt: skip
    return graph_json(payload, status=201)


@graph_endpoint(methods=("GET", "POST"))
def user_drive_root_children(request: HttpRequest, user_key: str) -> HttpResponse:
    drive = _user_drive(request, user_key)
    if request.method == "POST":
        return _create_child(request, drive)
    items = SandboxDriveItem.objects.filter(drive_id=drive.id, parent=None).select_related("remote_item")
    values = [onedrive_item_json(item, drive) for item in items.order_by("name")]
    return graph_json({"@odata.context": context_url(request, f"users('{drive.user.pk}')/drive/root/children"),
                       "value": values})  # fmt: skip
