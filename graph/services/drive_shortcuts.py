"""OneDrive shortcuts ("Add shortcut to My files") to a SharePoint library or folder.

A technician pastes a URL. ``check_url`` makes it a plain https SharePoint URL (browser links of the form
``…/AllItems.aspx?id=/sites/x/Shared Documents/y`` are rebuilt from their ``id``) and refuses anything
that is not a ``*.sharepoint.com`` address. ``resolve_url`` turns it into the driveItem it names with one
read — ``GET /shares/u!{base64url(url)}/driveItem``, which Graph accepts for any SharePoint item URL, not
only sharing links — instead of listing every site of the tenant as the reference does. A bare site URL
(``/sites/Finance``) has no driveItem of its own and resolves to its default library's root through
``GET /sites/{host}:/{path}`` and ``GET /sites/{id}/drive/root``.

``create_shortcut`` then posts ``{name, remoteItem: {id, parentReference: {driveId}}}`` to the user's drive
root (the graph-contract body ``shortcut_body_by_item``); shortcuts can only live at the root.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from graph.client import GraphClient
from graph.errors import NotFoundError
from graph.services.sharepoint import sharepoint_name_from_host

ITEM_SELECT = "id,name,webUrl,parentReference,folder,file,root"
SITE_PREFIXES = ("sites", "teams", "personal")
CONFLICT_BEHAVIOURS = ("rename", "fail", "replace")
_MAX_NAME = 250
_INVALID_NAME_CHARS = set('"*:<>?/\\|')


class ShortcutError(Exception):
    """A URL or target that cannot become a shortcut; the message is shown to the technician as is."""


class NoOneDriveError(ShortcutError):
    pass


@dataclass(frozen=True)
class ShortcutTarget:
    drive_id: str
    item_id: str
    name: str  # the default shortcut name
    web_url: str


def check_url(raw: str, *, sharepoint_name: str | None = None) -> str:
    """The normalised URL (scheme https, no query or fragment), or ShortcutError saying what is wrong.
    With ``sharepoint_name`` (``northwindtraders``), hosts of other organisations are refused."""
    text = (raw or "").strip()
    if not text:
        raise ShortcutError("Paste the address of a SharePoint site, library or folder.")
    parts = urlsplit(text)
    if parts.scheme != "https":
        raise ShortcutError("The address must start with https://.")
    host = (parts.hostname or "").lower()
    if not host.endswith(".sharepoint.com") or host.count(".") != 2:
        raise ShortcutError(
            f"{host or 'That address'} is not a SharePoint Online address (*.sharepoint.com)."
        )
    if sharepoint_name and sharepoint_name_from_host(host) != sharepoint_name.lower():
        raise ShortcutError(
            f"{host} belongs to another organisation; this tenant's SharePoint is "
            f"{sharepoint_name.lower()}.sharepoint.com."
        )
    path = parts.path
    browser_id = parse_qs(parts.query).get("id") or parse_qs(parts.query).get("RootFolder")
    if browser_id and browser_id[0].startswith("/"):
        path = quote(browser_id[0])  # the folder a library view was showing
    path = path.rstrip("/")
    for suffix in ("/Forms/AllItems.aspx", "/AllItems.aspx"):
        if path.lower().endswith(suffix.lower()):
            path = path[: -len(suffix)]
    if "/_layouts/" in path.lower():
        raise ShortcutError(
            "That is a SharePoint page, not a library or folder; open the folder and copy its address."
        )
    return f"https://{host}{path}"


def encode_sharing_url(url: str) -> str:
    """Graph's share id for a URL: ``u!`` + unpadded base64url of the URL."""
    return "u!" + base64.urlsafe_b64encode(url.encode("utf-8")).decode().rstrip("=")


def _site_path(url: str) -> str | None:
    """``/sites/Finance`` when the URL names a site and nothing inside it; None otherwise."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if not segments:
        return "/"
    if len(segments) == 2 and segments[0].lower() in SITE_PREFIXES:
        return "/" + "/".join(segments)
    return None


def resolve_url(client: GraphClient, url: str) -> ShortcutTarget:
    """The driveItem a checked URL names (see module docstring). ShortcutError when it is not found, is a
    file, or is otherwise unusable."""
    site_path = _site_path(url)
    try:
        if site_path is not None:
            host = urlsplit(url).hostname
            site_ref = host if site_path == "/" else f"{host}:{site_path}"
            site = client.get(f"/sites/{site_ref}", params={"$select": "id,displayName,webUrl"})
            item = client.get(f"/sites/{site['id']}/drive/root", params={"$select": ITEM_SELECT})
            default_name = site.get("displayName") or unquote(site_path.rsplit("/", 1)[-1]) or host
        else:
            item = client.get(f"/shares/{encode_sharing_url(url)}/driveItem", params={"$select": ITEM_SELECT})
            default_name = item.get("name") or ""
            if "root" in item or default_name == "root":
                default_name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    except NotFoundError:
        raise ShortcutError(f"Nothing was found at {url}, or the partner account cannot see it.") from None
    if item.get("file") is not None:
        raise ShortcutError("That address is a file; shortcuts can point at a library or a folder only.")
    drive_id = (item.get("parentReference") or {}).get("driveId")
    if not item.get("id") or not drive_id:
        raise ShortcutError("SharePoint did not say which library that item belongs to.")
    return ShortcutTarget(
        drive_id=drive_id, item_id=item["id"], name=default_name, web_url=item.get("webUrl") or url
    )


def clean_name(name: str) -> str:
    """A shortcut name OneDrive accepts: no reserved characters, no trailing dot or space, bounded."""
    text = (
        "".join(" " if ch in _INVALID_NAME_CHARS else ch for ch in (name or "")).strip().rstrip(".").strip()
    )
    return text[:_MAX_NAME]


def require_onedrive(client: GraphClient, user_id: str) -> str:
    """The user's drive id; NoOneDriveError when Graph answers 404 (not provisioned, or no licence)."""
    try:
        drive = client.get(f"/users/{user_id}/drive", params={"$select": "id"})
    except NotFoundError:
        raise NoOneDriveError(
            "has no OneDrive yet (not provisioned); pre-provision it first, then add the shortcut"
        ) from None
    return str(drive.get("id") or "")


def create_shortcut(
    client: GraphClient, user_id: str, target: ShortcutTarget, name: str | None = None,
    *, conflict_behavior: str = "rename",
) -> dict:  # fmt: skip
    """POST the shortcut to the user's drive root; returns Graph's driveItem (its ``name`` may differ from
    the one asked for when ``rename`` resolved a clash)."""
    if conflict_behavior not in CONFLICT_BEHAVIOURS:
        raise ValueError(f"conflict_behavior must be one of {CONFLICT_BEHAVIOURS}")
    body = {
        "name": clean_name(name or target.name) or "Shortcut",
        "remoteItem": {"id": target.item_id, "parentReference": {"driveId": target.drive_id}},
        "@microsoft.graph.conflictBehavior": conflict_behavior,
    }
    try:
        return client.post(f"/users/{user_id}/drive/root/children", json=body)
    except NotFoundError as exc:
        if "remote" in exc.message.lower():
            raise ShortcutError("The library or folder no longer exists.") from None
        raise


__all__ = [
    "NoOneDriveError",
    "ShortcutError",
    "ShortcutTarget",
    "check_url",
    "clean_name",
    "create_shortcut",
    "encode_sharing_url",
    "require_onedrive",
    "resolve_url",
]
