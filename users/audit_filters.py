"""The audit log's filters: one form shared by the list page and the CSV export, so both always show the
same rows. Every filter lives in the query string, so a filtered view can be bookmarked and shared.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from tenants import access
from users.models import AuditEntry

MAX_TEXT = 200


TECHNICIAN_ACTIONS = "technician."
GROUP_ACTIONS, GROUP_TARGET = "tenant_group.", "group:"


def scoped_entries(user) -> QuerySet[AuditEntry]:
    """Entries ``user`` may read: none without audit.view; every entry for an Admin over all tenants.

    An Admin scoped to some tenants reads the entries of tenants in its scope and, of the entries about
    no tenant (connections, discovery, sign-in locks, technicians, tenant groups), only its own and those
    about technicians and tenant groups it may manage, and only when nothing in them names a tenant or
    group outside its scope (an old entry may record a scope the technician no longer has). Everything
    else is never returned, not even counted."""
    if not access.can(user, "audit.view"):
        return AuditEntry.objects.none()
    entries = AuditEntry.objects.all()
    if access.sees_every_tenant(user):
        return entries
    in_scope = access.visible_tenants(user).values("tenant_id")
    return entries.filter(Q(tenant_id__in=in_scope) | Q(pk__in=_tenantless_entries_for(user)))


def _tenantless_entries_for(user) -> list[int]:
    """Ids of the tenant-less entries a scoped viewer may read (few: technician and group changes)."""
    usernames = list(access.manageable_technicians(user).values_list("username", flat=True))
    groups = set(access.manageable_groups(user).values_list("name", flat=True))
    about = (
        Q(technician_id=user.pk)
        | Q(action__startswith=TECHNICIAN_ACTIONS, target_upn__in=usernames)
        | Q(action__startswith=GROUP_ACTIONS, target_upn__in=[GROUP_TARGET + name for name in groups])
    )
    candidates = AuditEntry.objects.filter(Q(tenant_id__isnull=True) & about)
    visible = {str(t) for t in access.visible_tenants(user).values_list("tenant_id", flat=True)}
    every_tenant = {str(t) for t in access.Tenant.objects.values_list("tenant_id", flat=True)}
    return [
        pk
        for pk, parameters in candidates.values_list("pk", "parameters")
        if _names_only(parameters, visible, every_tenant, groups)
    ]


def _names_only(parameters, visible: set[str], every_tenant: set[str], groups: set[str]) -> bool:
    """True when ``parameters`` names no tenant (listed, or any tenant GUID anywhere) outside ``visible``
    and no tenant group outside ``groups``."""
    if not isinstance(parameters, dict):
        return True
    listed = parameters.get("tenants")
    if isinstance(listed, list) and not {str(t).lower() for t in listed} <= visible:
        return False
    named_groups = parameters.get("tenant_groups")
    if isinstance(named_groups, list) and not {str(g) for g in named_groups} <= groups:
        return False
    return all(text not in every_tenant or text in visible for text in _guids(parameters))


def _guids(value):
    """Every GUID-shaped string inside ``value`` (nested dicts and lists), lower-cased."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _guids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _guids(item)
    elif isinstance(value, str) and len(value) == 36:
        try:
            yield str(uuid.UUID(value))
        except ValueError:
            return


class AuditFilterForm(forms.Form):
    technician = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                        empty_label="Any technician")  # fmt: skip
    tenant = forms.ModelChoiceField(queryset=access.Tenant.objects.none(), required=False,
                                    to_field_name="tenant_id", empty_label="Any tenant")  # fmt: skip
    user = forms.CharField(required=False, max_length=MAX_TEXT, label="User (UPN contains)")
    action = forms.ChoiceField(required=False)
    result = forms.ChoiceField(required=False, choices=[("", "Any result"), *AuditEntry.Result.choices])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, viewer):
        super().__init__(data)
        self.viewer = viewer
        # Only what the viewer's own entries name: technicians and actions of other scopes stay unknown.
        readable = scoped_entries(viewer)
        self.fields["technician"].queryset = (
            get_user_model()
            .objects.filter(pk__in=readable.exclude(technician=None).values("technician_id"))
            .order_by("username")
        )
        self.fields["tenant"].queryset = access.visible_tenants(viewer).order_by("display_name")
        actions = readable.order_by("action").values_list("action", flat=True).distinct()
        self.fields["action"].choices = [("", "Any action"), *[(a, a) for a in actions]]
        for name, field in self.fields.items():
            css = (
                "form-select form-select-sm"
                if isinstance(field, forms.ChoiceField)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("id", f"audit-{name}")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "“To” must be on or after “From”.")
        return data

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)

    def apply(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """The filtered entries; an invalid filter shows nothing (never silently more than asked for)."""
        if not self.is_valid():
            return entries.none()
        data = self.cleaned_data
        if data.get("technician"):
            entries = entries.filter(technician=data["technician"])
        if data.get("tenant"):
            entries = entries.filter(tenant_id=data["tenant"].tenant_id)
        if data.get("user"):
            entries = entries.filter(target_upn__icontains=data["user"].strip())
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("result"):
            entries = entries.filter(result=data["result"])
        if data.get("date_from"):
            entries = entries.filter(created_at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            entries = entries.filter(created_at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        return entries


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the server's time zone (the dates a technician types are local)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
