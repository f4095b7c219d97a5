"""View user: /users/<tenant>/<user id>/ and one lazily loaded URL per section.

The page itself reads only the directory cache (the header), so it renders at once. Its sections load in
parallel through htmx: the five directory sections arrive together from one Graph $batch (as
out-of-band swaps), the others (per-user MFA, sign-ins, mailbox, OneDrive) each from their own URL, which
is also what every Retry button calls. Section views answer 200 with the section's own error inside, so
htmx swaps it in; only access refusals are 403/404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from tenants.lookup import resolve_tenant
from tenants.models import Tenant
from tenants.selection import show_scope

from ..models import DirectoryUser
from ..services import profile

# Sections loaded by their own request when the page opens; the rest come with the directory batch.
SOLO_SECTIONS = ("mfa", "roles", "sign-ins", "mailbox", "mobile-devices", "onedrive")


@dataclass
class HeaderUser:
    """What the page header shows; from the cache row, or from Graph when the user is not cached yet."""

    user_id: str
    display_name: str
    upn: str
    mail: str
    enabled: bool
    synced: bool
    user_type: str
    created: datetime | None
    cached_at: datetime | None = None  # None: read live from Graph

    @classmethod
    def from_row(cls, row: DirectoryUser) -> HeaderUser:
        return cls(str(row.user_id), row.display_name, row.user_principal_name, row.mail, row.account_enabled,
                   row.on_premises_sync_enabled, row.user_type, row.created_datetime, row.synced_at)  # fmt: skip

    @classmethod
    def from_graph(cls, user: dict) -> HeaderUser:
        created = user.get("createdDateTime")
        return cls(
            str(user.get("id")), user.get("displayName") or "", user.get("userPrincipalName") or "",
            user.get("mail") or "", bool(user.get("accountEnabled")), bool(user.get("onPremisesSyncEnabled")),
            user.get("userType") or "Member", parse_datetime(created.replace("Z", "+00:00")) if created else None,
        )  # fmt: skip


def _tenant_for(request, tenant: str) -> Tenant:
    # Imported here: tenants.access is the one place access is decided; it must be consulted on every call.
    from tenants.access import require

    target = resolve_tenant(tenant)
    if target is None:
        raise Http404("No such tenant.")
    require(request.user, "users.view", target)
    return target


def _cached_user(tenant: Tenant, user_id) -> DirectoryUser | None:
    return DirectoryUser.objects.filter(tenant=tenant, user_id=user_id).first()


def section_url(tenant: Tenant, user_id, name: str) -> str:
    return reverse(f"users:detail-{name}", args=[tenant.slug, user_id])


def _section_context(tenant: Tenant, user_id, section: profile.Section, *, oob: bool = False) -> dict:
    return {"s": section, "tenant": tenant, "user_id": user_id, "oob": oob,
            "retry_url": section_url(tenant, user_id, section.name)}  # fmt: skip


@require_GET
def user_detail(request, tenant, user_id):
    target = _tenant_for(request, tenant)
    row = _cached_user(target, user_id)
    if row is not None:
        header = HeaderUser.from_row(row)
    else:
        found = profile.lookup_user(target, user_id)
        if found is None:
            raise Http404("This user is neither in the directory cache nor in the tenant.")
        header = HeaderUser.from_graph(found)
    placeholders = [
        {"name": name, "title": profile.TITLES[name], "url": section_url(target, user_id, name),
         "solo": name in SOLO_SECTIONS}
        for name in profile.SECTIONS
    ]  # fmt: skip
    show_scope(request, target, leave_to=reverse("users:list"))  # the header picker names this user's tenant
    context = {
        "tenant": target,
        "header": header,
        "sections": {p["name"].replace("-", "_"): p for p in placeholders},
        "batch_url": reverse("users:detail-directory", args=[target.slug, user_id]),
        "table_url": reverse("users:list") + f"?tenant={target.slug}",
        "premium": bool(target.has_entra_p1 or target.has_entra_p2),
    }
    return render(request, "users/detail.html", context)


@require_GET
def directory_sections(request, tenant, user_id):
    """Profile, licences, groups, authentication methods and devices from one $batch, as OOB swaps."""
    target = _tenant_for(request, tenant)
    sections = profile.load_batched(target, user_id)
    contexts = [_section_context(target, user_id, s, oob=True) for s in sections.values()]
    return render(request, "users/detail_batch.html", {"contexts": contexts})


@require_GET
def user_section(request, tenant, user_id, section: str):
    target = _tenant_for(request, tenant)
    upn = ""
    if section in ("mailbox", "mobile-devices"):
        row = _cached_user(target, user_id)
        upn = row.user_principal_name if row is not None else ""
    loaded = profile.load_section(target, user_id, section, upn=upn)
    return render(request, "users/detail_section.html", _section_context(target, user_id, loaded))
