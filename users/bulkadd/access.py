"""Who may see and change a bulk import, and the key cookie that opens its passwords.

An import is its technician's: only they may change, run, cancel it or download its passwords. An Admin who
sees the tenant may look at its progress and results (never its passwords: the key is in the technician's
browser only). Everyone needs ``users.edit`` on the tenant; an import of a tenant outside the technician's
scope, or someone else's import, is a 404 like an id that does not exist.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404

from tenants.access import Role, can, role_of, sees_tenant
from users.models import BulkImport

from . import sealed
from .service import PERMISSION, secret_ttl

COOKIE = "bulkadd_key_{pk}"  # "key" in the name: Django's error reports hide such cookies


class Refused(Exception):
    """The technician sees the tenant but their role may not create users there (403 page)."""


def load(request, pk: int, *, owner_only: bool = True) -> BulkImport:
    bulk_import = (
        BulkImport.objects.select_related("tenant", "tenant__connection", "job", "created_by")
        .filter(pk=pk)
        .first()
    )
    if bulk_import is None or not sees_tenant(request.user, bulk_import.tenant):
        raise Http404("No such import.")
    mine = bulk_import.created_by_id == request.user.pk
    if not mine and (owner_only or role_of(request.user).key != Role.ADMIN):
        raise Http404("No such import.")
    if not can(request.user, PERMISSION, bulk_import.tenant):
        raise Refused()
    return bulk_import


def cookie_name(bulk_import: BulkImport) -> str:
    return COOKIE.format(pk=bulk_import.pk)


def cookie_path(bulk_import: BulkImport) -> str:
    return f"/users/bulk-add/{bulk_import.pk}/"


def set_key(response, request, bulk_import: BulkImport, private_key: str) -> None:
    response.set_cookie(
        cookie_name(bulk_import), private_key, max_age=int(secret_ttl().total_seconds()),
        path=cookie_path(bulk_import), httponly=True, samesite="Strict",
        secure=bool(settings.SESSION_COOKIE_SECURE or request.is_secure()),
    )  # fmt: skip


def forget_key(response, bulk_import: BulkImport) -> None:
    response.delete_cookie(cookie_name(bulk_import), path=cookie_path(bulk_import), samesite="Strict")


def key_of(request, bulk_import: BulkImport) -> str | None:
    """The private key the browser holds for this import, if it is the right one."""
    value = request.COOKIES.get(cookie_name(bulk_import), "")
    if not sealed.looks_like_key(value):
        return None
    try:
        return value if sealed.public_key_of(value) == bulk_import.public_key else None
    except sealed.SealError:
        return None
