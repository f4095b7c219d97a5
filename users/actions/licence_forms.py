"""Forms of Manage licences and Remove from group.

Manage licences lists the tenant's subscribed SKUs as Graph reports them now (product name, units left)
and refuses, before anything is sent, an add that needs more units than are left across the selection:
the selection is read from the modal's own POST (``user`` values or the table's ``query``). A Job's worker
re-validates the stored field values without a selection, and units its own earlier chunks used are not
counted against it; Graph then refuses user by user if units run out meanwhile.
"""

from __future__ import annotations

import uuid

from django import forms
from django.db.models import Q
from django.http import QueryDict

from graph.errors import GraphError
from users.models import DirectoryUser, DirectoryUserLicense, TenantSku

from .mail_forms import ActionForm, AddToGroupForm

USABLE_STATUSES = ("Enabled", "Warning")


class ManageLicencesForm(ActionForm):
    add_skus = forms.MultipleChoiceField(
        label="Add these licences", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Given to the selected users who do not have them yet.",
    )  # fmt: skip
    remove_skus = forms.MultipleChoiceField(
        label="Remove these licences", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Taken from the selected users who have them; the others are left as they are.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stock: dict = {}
        self.load_error = ""
        if self.tenant is not None:
            self._load()
        ordered = sorted(self.stock.values(), key=lambda s: s.name.lower())
        self.fields["add_skus"].choices = [(s.sku_id, _add_label(s)) for s in ordered]
        self.fields["remove_skus"].choices = [(s.sku_id, s.name) for s in ordered]

    def _load(self) -> None:
        from graph.client import GraphClient
        from graph.services.skus import list_subscribed_skus
        from users.provisioning.steps import stock_from_skus

        try:
            skus = list_subscribed_skus(GraphClient.for_tenant(self.tenant))
        except GraphError as error:
            self.load_error = f"The tenant's licences could not be read: {error.message}"
            return
        usable = [s for s in skus if s.get("capabilityStatus", "Enabled") in USABLE_STATUSES
                  and s.get("appliesTo", "User") == "User"]  # fmt: skip
        self.stock = stock_from_skus(usable)

    def clean(self):
        data = super().clean()
        if self.tenant is None:
            raise forms.ValidationError("Select users of one tenant to manage their licences.")
        if self.load_error:
            raise forms.ValidationError(self.load_error)
        add, remove = list(data.get("add_skus") or []), list(data.get("remove_skus") or [])
        if not self.errors and not add and not remove:
            raise forms.ValidationError("Choose at least one licence to add or to remove.")
        both = set(add) & set(remove)
        if both:
            raise forms.ValidationError(
                "A licence cannot be added and removed at once: "
                + ", ".join(self.stock[s].name for s in both)
                + "."
            )
        selected = self._selected_users()
        if selected is not None and add:
            problems = self._units_problems(selected, add)
            if problems:
                raise forms.ValidationError(problems)
        data["sku_names"] = {sku_id: item.name for sku_id, item in self.stock.items()}
        return data

    def _units_problems(self, selected, add: list[str]) -> list[str]:
        from users.provisioning.steps import units_problems

        total = selected.count()
        needed = {}
        for sku_id in add:
            holders = DirectoryUserLicense.objects.filter(user__in=selected, sku_id=uuid.UUID(sku_id)).count()
            needed[sku_id] = total - holders
        return [f"Nothing was sent. {p}" for p in units_problems(self.stock, needed)]

    def _selected_users(self):
        """The users this modal acts on (its ``user`` values or table ``query``), or None when unknown (a
        Job re-validating its stored inputs)."""
        data = self.data
        if not hasattr(data, "getlist"):
            return None
        values = [v for v in data.getlist("user") if v.strip()]
        if values:
            ids = []
            for value in values:
                _, _, user_part = value.partition("/")
                try:
                    ids.append(uuid.UUID(user_part.strip()))
                except ValueError:
                    continue
            return DirectoryUser.objects.filter(tenant=self.tenant, user_id__in=ids)
        query = (data.get("query") or "").strip()
        if query:
            from users.filters import parse_table_query
            from users.queries import table_queryset

            sku_ids = {
                str(s) for s in TenantSku.objects.filter(tenant=self.tenant).values_list("sku_id", flat=True)
            }
            matching = table_queryset(self.tenant, parse_table_query(QueryDict(query), sku_ids=sku_ids))
            return DirectoryUser.objects.filter(Q(pk__in=matching.values("pk")))
        return None


def _add_label(item) -> str:
    if item.available <= 0:
        return f"{item.name} — none left"
    return f"{item.name} — {item.available} available"


class RemoveFromGroupForm(AddToGroupForm):
    """The tenant's groups, kinds shown; dynamic and synced groups listed but not selectable, with why."""

    def clean(self):
        if self.tenant is None:
            raise forms.ValidationError("Select users of one tenant to remove them from a group.")
        return super().clean()
