"""The users table's columns, declared once: what the table shows, sorts on and exports.

Each ``Column`` knows its label, the model field(s) it sorts on, whether it is shown by default, how to
render a cell (``render`` → safe HTML, built with ``format_html`` so every value is escaped) and how to
export it (``export`` → plain text). Cells are rendered in Python rather than with one template include
per cell: 500 rows × 20 columns would otherwise be 10,000 template includes per page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .models import DirectoryUser

PREFERENCE_KEY = "users.columns"
DASH = mark_safe('<span class="text-body-tertiary" aria-label="empty">—</span>')  # noqa: S308 (constant)
LICENCE_CHIPS_SHOWN = 2


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    render: Callable[[DirectoryUser], SafeString]
    export: Callable[[DirectoryUser], str]
    sort_fields: tuple[str, ...] = ()  # empty: not sortable
    default: bool = False
    required: bool = False  # always shown (the row's anchor for More info)
    css: str = ""
    multi_tenant_only: bool = False

    @property
    def sortable(self) -> bool:
        return bool(self.sort_fields)


# --- plain-text values (export) ---------------------------------------------------------------------------


def _text(field: str) -> Callable[[DirectoryUser], str]:
    return lambda user: str(getattr(user, field) or "")


def _iso(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _signin_available(user: DirectoryUser) -> bool:
    return user.tenant.has_entra_p1 or user.tenant.has_entra_p2


def export_last_sign_in(user: DirectoryUser) -> str:
    if not _signin_available(user):
        return "not available"
    return _iso(user.last_sign_in) or "never"


def export_licences(user: DirectoryUser) -> str:
    return user.license_names or "Unlicensed"


def export_proxies(user: DirectoryUser) -> str:
    return "; ".join(str(p) for p in user.proxy_addresses or ())


def export_phones(user: DirectoryUser) -> str:
    return "; ".join(str(p) for p in user.business_phones or ())


def export_mfa(user: DirectoryUser) -> str:
    return (user.per_user_mfa_state or "").capitalize()


# --- cells (HTML) -----------------------------------------------------------------------------------------


def _cell_text(field: str) -> Callable[[DirectoryUser], SafeString]:
    def render(user: DirectoryUser) -> SafeString:
        value = getattr(user, field)
        return format_html("{}", value) if value else DASH

    return render


def cell_time(value, empty=DASH) -> SafeString:
    if not value:
        return empty
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        date_format(local, "j M Y H:i T"),
        date_format(local, "j M Y"),
    )


def _cell_time(field: str) -> Callable[[DirectoryUser], SafeString]:
    return lambda user: cell_time(getattr(user, field))


def cell_display_name(user: DirectoryUser) -> SafeString:
    return format_html('<span class="user-name">{}</span>', user.display_name or user.user_principal_name)


def cell_licences(user: DirectoryUser) -> SafeString:
    names = [n for n in (user.license_names or "").split("; ") if n]
    if not names:
        return mark_safe('<span class="text-body-tertiary">Unlicensed</span>')  # noqa: S308 (constant)
    shown = format_html_join(
        "", '<span class="lic-chip">{}</span>', ((n,) for n in names[:LICENCE_CHIPS_SHOWN])
    )
    extra = len(names) - LICENCE_CHIPS_SHOWN
    more = format_html('<span class="lic-more">+{}</span>', extra) if extra > 0 else ""
    return format_html('<span class="lic-list" title="{}">{}{}</span>', "\n".join(names), shown, more)


def cell_enabled(user: DirectoryUser) -> SafeString:
    if user.account_enabled:
        return mark_safe('<span class="state state-on">Enabled</span>')  # noqa: S308 (constant)
    return mark_safe('<span class="state state-off">Disabled</span>')  # noqa: S308 (constant)


def cell_synced(user: DirectoryUser) -> SafeString:
    if user.on_premises_sync_enabled:
        return mark_safe(  # noqa: S308 (constant)
            '<span class="src src-ad" title="Synchronised from on-premises Active Directory">'
            '<i class="bi bi-arrow-left-right" aria-hidden="true"></i> AD synced</span>'
        )
    return mark_safe('<span class="src src-cloud">Cloud</span>')  # noqa: S308 (constant)


def cell_user_type(user: DirectoryUser) -> SafeString:
    if user.user_type == "Guest":
        return mark_safe('<span class="badge badge-guest">Guest</span>')  # noqa: S308 (constant)
    return format_html("{}", user.user_type or "Member")


def cell_last_sign_in(user: DirectoryUser) -> SafeString:
    if not _signin_available(user):
        return mark_safe(  # noqa: S308 (constant)
            '<span class="text-body-tertiary" title="Sign-in activity needs Microsoft Entra ID P1 or P2">'
            "not available</span>"
        )
    return cell_time(user.last_sign_in, mark_safe('<span class="text-body-tertiary">never</span>'))  # noqa: S308


def cell_mfa(user: DirectoryUser) -> SafeString:
    state = (user.per_user_mfa_state or "").lower()
    if not state:
        return DASH
    return format_html('<span class="mfa mfa-{}">{}</span>', state, state.capitalize())


def cell_list(field: str) -> Callable[[DirectoryUser], SafeString]:
    def render(user: DirectoryUser) -> SafeString:
        values = [str(v) for v in getattr(user, field) or ()]
        if not values:
            return DASH
        if len(values) == 1:
            return format_html("{}", values[0])
        return format_html(
            '<span title="{}">{} <span class="lic-more">+{}</span></span>',
            "\n".join(values),
            values[0],
            len(values) - 1,
        )

    return render


def cell_proxies(user: DirectoryUser) -> SafeString:
    values = [str(v) for v in user.proxy_addresses or ()]
    if not values:
        return DASH
    primary = next((v for v in values if v.startswith("SMTP:")), values[0])
    more = format_html(' <span class="lic-more">+{}</span>', len(values) - 1) if len(values) > 1 else ""
    return format_html('<span title="{}">{}{}</span>', "\n".join(values), primary.split(":", 1)[-1], more)


def cell_guid(user: DirectoryUser) -> SafeString:
    return format_html('<code class="guid">{}</code>', user.user_id)


def cell_tenant(user: DirectoryUser) -> SafeString:
    return format_html(
        '<span class="tenant-name" title="{}">{}</span>', user.tenant.slug, user.tenant.display_name
    )


def _text_column(key, label, field, **kw) -> Column:
    return Column(key, label, _cell_text(field), _text(field), sort_fields=(field,), **kw)


COLUMNS: tuple[Column, ...] = (
    Column(
        "tenant",
        "Tenant",
        cell_tenant,
        lambda u: u.tenant.display_name,
        ("tenant__display_name", "tenant_id"),
        default=True,
        multi_tenant_only=True,
    ),
    Column(
        "display_name",
        "Display name",
        cell_display_name,
        _text("display_name"),
        ("display_name",),
        default=True,
        required=True,
    ),
    _text_column("mail", "Email", "mail", default=True),
    _text_column("upn", "User principal name", "user_principal_name"),
    Column("licences", "Licences", cell_licences, export_licences, ("license_names",), default=True),
    Column(
        "enabled",
        "Account",
        cell_enabled,
        lambda u: "Enabled" if u.account_enabled else "Disabled",
        ("account_enabled",),
        default=True,
    ),
    Column(
        "synced",
        "Source",
        cell_synced,
        lambda u: "AD synced" if u.on_premises_sync_enabled else "Cloud",
        ("on_premises_sync_enabled",),
        default=True,
    ),
    _text_column("job_title", "Job title", "job_title"),
    _text_column("department", "Department", "department"),
    _text_column("office", "Office", "office_location"),
    _text_column("city", "City", "city"),
    _text_column("country", "Country", "country"),
    _text_column("usage_location", "Usage location", "usage_location"),
    Column("user_type", "User type", cell_user_type, _text("user_type"), ("user_type",)),
    _text_column("company", "Company", "company_name"),
    _text_column("mobile", "Mobile", "mobile_phone"),
    # JSON lists: sorting on them means nothing portable, so they are not sortable.
    Column("business_phones", "Business phones", cell_list("business_phones"), export_phones),
    Column("proxy_addresses", "Proxy addresses", cell_proxies, export_proxies),
    Column("last_sign_in", "Last sign-in", cell_last_sign_in, export_last_sign_in, ("last_sign_in",)),
    Column("mfa", "Per-user MFA", cell_mfa, export_mfa, ("per_user_mfa_state",)),
    Column(
        "created",
        "Created",
        _cell_time("created_datetime"),
        lambda u: _iso(u.created_datetime),
        ("created_datetime",),
    ),
    Column(
        "last_sync",
        "Last AD sync",
        _cell_time("on_premises_last_sync"),
        lambda u: _iso(u.on_premises_last_sync),
        ("on_premises_last_sync",),
    ),
    Column("user_id", "User id", cell_guid, lambda u: str(u.user_id), css="text-nowrap"),
)
BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}
SORTABLE: dict[str, Column] = {c.key: c for c in COLUMNS if c.sortable}
DEFAULT_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS if c.default and not c.multi_tenant_only)
CHOOSABLE: tuple[Column, ...] = tuple(c for c in COLUMNS if not c.multi_tenant_only)


def normalise_keys(keys: Iterable[str]) -> list[str]:
    """Known, choosable keys in table order, with the required ones always present."""
    wanted = {str(k) for k in keys}
    return [c.key for c in CHOOSABLE if c.key in wanted or c.required]


def visible_columns(keys: Iterable[str], *, multi_tenant: bool) -> list[Column]:
    chosen = set(normalise_keys(keys))
    return [
        c
        for c in COLUMNS
        if (c.multi_tenant_only and multi_tenant) or (not c.multi_tenant_only and c.key in chosen)
    ]


def saved_keys(user) -> list[str]:
    """The technician's chosen columns, or the defaults. Unknown keys (renamed columns) are dropped."""
    from .models import TechnicianPreference

    pref = TechnicianPreference.objects.filter(user=user, key=PREFERENCE_KEY).only("value").first()
    keys = pref.value.get("columns") if pref and isinstance(pref.value, dict) else None
    if not isinstance(keys, list) or not keys:
        return list(DEFAULT_KEYS)
    return normalise_keys(k for k in keys if isinstance(k, str))


def save_keys(user, keys: Iterable[str]) -> list[str]:
    from .models import TechnicianPreference

    cleaned = normalise_keys(keys)
    TechnicianPreference.objects.update_or_create(
        user=user, key=PREFERENCE_KEY, defaults={"value": {"columns": cleaned}}
    )
    return cleaned


def reset_keys(user) -> list[str]:
    from .models import TechnicianPreference

    TechnicianPreference.objects.filter(user=user, key=PREFERENCE_KEY).delete()
    return list(DEFAULT_KEYS)
