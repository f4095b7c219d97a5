"""Seed step: a few SharePoint sites per tenant, each with its "Documents" library and some folders.

The host is ``{name}.sharepoint.com`` where ``name`` is the first label of the tenant's initial
``.onmicrosoft.com`` domain, so a technician can paste, for example,
``https://northwindtraders.sharepoint.com/sites/Finance/Shared%20Documents/Budgets`` into Add OneDrive
shortcut. Ids are derived from the seed like every other seeded id.
"""

from __future__ import annotations

from .models import SandboxDriveItem, SandboxSite
from .seed_people import TenantSeed

LIBRARY_NAME = "Documents"
LIBRARY_URL = "Shared Documents"  # the default library's URL segment in an English-language tenant

# (site path, display name, description, folders as "a/b" paths inside the library)
SITES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("", "Communication site", "The organisation's home site.", ("Brand", "Templates")),
    ("/sites/Finance", "Finance", "Budgets, invoices and reports.",
     ("Budgets", "Invoices", "Invoices/2025", "Invoices/2026", "Reports")),
    ("/sites/HR", "Human Resources", "Policies and onboarding.", ("Policies", "Onboarding", "Onboarding/Checklists")),
    ("/sites/Projects", "Projects", "Project documents shared across teams.", ("Phoenix", "Phoenix/Design", "Archive")),
)  # fmt: skip


def sharepoint_host(ctx: TenantSeed) -> str:
    return f"{ctx.initial_domain.split('.')[0]}.sharepoint.com"


def _item_id(ctx: TenantSeed, *parts: object) -> str:
    return "01" + ctx.id_for("spitem", *parts).hex.upper()[:32]


def seed_sharepoint(ctx: TenantSeed) -> None:
    host = sharepoint_host(ctx)
    items: list[SandboxDriveItem] = []
    for path, display_name, description, folders in SITES:
        created = ctx.days_ago(ctx.rng.uniform(200, 900))
        site = SandboxSite.objects.create(
            id=f"{host},{ctx.id_for('spsite', path)},{ctx.id_for('spweb', path)}",
            tenant=ctx.tenant, hostname=host, path=path, display_name=display_name,
            description=description, created_datetime=created,
        )  # fmt: skip
        drive_id = f"b!{ctx.id_for('spdrive', path).hex}{ctx.id_for('splist', path).hex[:20]}"
        library_path = f"{path}/{LIBRARY_URL}"
        root = SandboxDriveItem(
            id=_item_id(ctx, path, ""), tenant=ctx.tenant, drive_id=drive_id, site=site, name="root",
            is_root=True, library_name=LIBRARY_NAME, url_key=f"{host}{library_path}".lower(),
            web_url=f"https://{host}{library_path.replace(' ', '%20')}", created_datetime=created,
        )  # fmt: skip
        items.append(root)
        by_path = {"": root}
        for folder in folders:
            parent_path, _, name = folder.rpartition("/")
            full = f"{library_path}/{folder}"
            item = SandboxDriveItem(
                id=_item_id(ctx, path, folder), tenant=ctx.tenant, drive_id=drive_id, site=site,
                parent=by_path[parent_path], name=name, url_key=f"{host}{full}".lower(),
                web_url=f"https://{host}{full.replace(' ', '%20')}", created_datetime=created,
            )  # fmt: skip
            by_path[folder] = item
            items.append(item)
    SandboxDriveItem.objects.bulk_create(items)
