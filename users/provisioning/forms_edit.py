"""The Edit user form: the user's current values, and what the technician changes, as a ``types.UserEdit``.

Where the "before" values come from: the page carries the record it showed (``EditState.snapshot()``) in a
signed hidden field (``original``; django.core.signing, salted per tenant and user, 12 hours). The diff is
taken against exactly that record, so

* only what the technician changed on this page is sent (``PATCH`` with the diff) — a property someone
  else changed in Entra while the page was open is not overwritten with the page's older value, which a
  "re-read on submit and compare" would do;
* a field emptied on purpose is a change (``None``, or ``[]`` for businessPhones), never "left as is";
* the signature keeps a forged "before" from turning into a silent change.

The choices offered (SKUs with free units, groups to join) come from a fresh read on every request, so
"no unit left" is judged on the numbers of that moment.

Licences are add / remove per SKU and plan changes of kept SKUs; a SKU's plan toggles count only when the
page showed them (``lic_shown``), so a post without them never switches plans off by surprise.
Hybrid-synced users: the properties Entra ID masters on-premises (rules.ON_PREMISES_MASTERED) are not
fields of the form at all, so they can never be sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from django import forms
from django.core import signing

from graph.errors import GraphError, NotFoundError
from tenants.lookup import parse_guid

from . import form_fields as ff
from . import rules
from .edit_state import EditState
from .types import UNCHANGED, LicenceChoice, UserEdit

ORIGINAL_MAX_AGE = 12 * 3600
PLANS_PREFIX = "lic_plans__"
REMOVE_PREFIX = "lic_remove__"
ADD_PLANS_PREFIX = "add_plans__"


class StaleForm(Exception):
    """The signed record is missing, tampered with, expired or for another user."""


def _salt(tenant, user_id) -> str:
    return f"users.edit.original:{tenant.tenant_id}:{user_id}"


def sign_original(tenant, snapshot: dict) -> str:
    return signing.dumps(snapshot, salt=_salt(tenant, snapshot["user_id"]), compress=True)


def read_original(tenant, user_id, token: str) -> dict:
    try:
        value = signing.loads(token or "", salt=_salt(tenant, user_id), max_age=ORIGINAL_MAX_AGE)
    except signing.BadSignature as error:  # SignatureExpired is a BadSignature
        raise StaleForm(str(error)) from None
    if not isinstance(value, dict) or value.get("user_id") != str(user_id):
        raise StaleForm("the record is for another user")
    return value


def edit_digest(edit: UserEdit) -> str:
    """A fingerprint of the changes, so "Save" applies exactly what the summary listed."""
    data = asdict(edit)
    data["manager_id"] = "=" if edit.manager_id is UNCHANGED else edit.manager_id
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _default_address_check(tenant, addresses, exclude_user_id):
    from .availability import address_problems

    return address_problems(tenant, addresses, exclude_user_id=exclude_user_id)


def _default_user_lookup(tenant, text: str):
    """(id, upn, display name) of a user of ``tenant`` by id, UPN or mail: the cache first, then Graph."""
    row = ff.find_user(tenant, text)
    if row is not None:
        return str(row.user_id), row.user_principal_name, row.display_name
    from graph.client import GraphClient
    from graph.services.users import get_user

    key = text.strip()
    if key.endswith(">") and "<" in key:
        key = key.rsplit("<", 1)[1][:-1].strip()
    if parse_guid(key) is None and "@" not in key:
        return None
    try:
        found = get_user(GraphClient.for_tenant(tenant), key, select="id,userPrincipalName,displayName")
    except NotFoundError:
        return None
    return str(found.get("id")), found.get("userPrincipalName") or "", found.get("displayName") or ""


class EditUserForm(forms.Form):
    original = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, data=None, *, state: EditState, original: dict, token: str = "",
                 check_addresses=None, lookup_user=None):  # fmt: skip
        self.state = state
        self.base = original  # what the page showed: the diff is taken against this
        self.check_addresses = check_addresses or _default_address_check
        self.lookup_user = lookup_user or _default_user_lookup
        super().__init__(data, initial=self._initial(token))
        self._build_fields()
        ff.style(self)
        self.edit: UserEdit | None = None
        self.copy_source = None  # (id, upn, name)
        self.new_manager = None  # (id, upn, name)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:  # fields rendered by hand (username @ domain) show their invalid state too
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = (attrs.get("class", "") + " is-invalid").strip()
                attrs["aria-invalid"] = "true"

    # --- what the page offers -----------------------------------------------------------------------------

    def read_only(self, graph_property: str) -> bool:
        return bool(self.base.get("synced")) and graph_property in rules.ON_PREMISES_MASTERED

    def editable(self, section: str) -> bool:
        """A section whose current state could not be read is shown with why, and not edited."""
        if section == "aliases":
            return not self.read_only("proxyAddresses")
        if section == "manager":
            return "manager" not in self.base.get("unreadable", []) and not self.read_only("manager")
        if section == "add_groups":
            return "add_groups" not in self.state.errors and "groups" not in self.base.get("unreadable", [])
        return section not in self.base.get("unreadable", []) and section not in self.state.errors

    def _initial(self, token: str) -> dict:
        base = self.base
        initial = {"original": token}
        for name, (prop, _label) in ff.PROFILE.items():
            initial[name] = base["profile"].get(prop, "")
        username, _, domain = base["upn"].rpartition("@")
        initial.update(username=username, domain=domain.lower(), usage_location=base["usage_location"])
        manager = base.get("manager")
        initial["manager"] = manager["upn"] if manager else ""
        for sku_id, held in base["licences"].items():
            lic = next((h for h in self.state.licences if h.sku_id == sku_id), None)
            plans = [p.id for p in lic.plans] if lic else []
            initial[PLANS_PREFIX + sku_id] = [p for p in plans if p not in held["disabled"]]
        for sku in self.state.addable_skus:
            initial[ADD_PLANS_PREFIX + sku.sku_id] = [p.id for p in sku.plans]
        return initial

    def _build_fields(self) -> None:
        state, fields = self.state, self.fields
        for name, field in ff.profile_fields().items():
            if not self.read_only(ff.PROFILE[name][0]):
                fields[name] = field
        if not self.read_only("userPrincipalName"):
            fields["username"] = ff.username_field()
            fields["domain"] = ff.domain_field(state.domains)
            fields["domain"].help_text = "Changing the username or domain renames the sign-in name (UPN)."
        fields["usage_location"] = ff.usage_location_field()
        fields["usage_location"].choices = [("", "Not set"), *fields["usage_location"].choices[1:]]
        if self.editable("licences"):
            self._licence_fields()
        if self.editable("groups"):
            editable = [(g.id, g.name) for g in state.groups if g.via]
            fields["group_remove"] = self._multi(editable)
            fields["copy_groups_from"] = ff.user_field(
                "Copy group memberships from another user",
                help_text="Adds this user to that user's groups; dynamic and synced groups and groups "
                "already joined are skipped, each listed with the reason.",
            )
        if self.editable("add_groups"):
            fields["group_add"] = self._multi([(g.id, g.name) for g in state.addable_groups if g.via])
        if self.editable("aliases"):
            fields["alias_remove"] = self._multi([(a, a) for a in state.aliases])
            fields["alias_add"] = ff.aliases_field()
            fields["alias_add"].label = "Add aliases"
            fields["alias_add"].help_text = "One address per line. A name without @ gets the user's domain."
        if self.editable("manager"):
            fields["manager"] = ff.user_field(
                "Manager",
                help_text="Name, UPN or e-mail of a user of this tenant; empty removes the manager.",
            )

    @staticmethod
    def _multi(choices) -> forms.MultipleChoiceField:
        return forms.MultipleChoiceField(required=False, choices=choices, widget=forms.CheckboxSelectMultiple)

    def _licence_fields(self) -> None:
        state, fields = self.state, self.fields
        shown = []
        for lic in state.licences:
            if not lic.direct or lic.sku_id not in self.base["licences"]:
                continue
            fields[REMOVE_PREFIX + lic.sku_id] = forms.BooleanField(
                required=False, label=f"Remove {lic.name}"
            )
            fields[PLANS_PREFIX + lic.sku_id] = self._multi([(p.id, p.name) for p in lic.plans])
            shown.append(lic.sku_id)
        fields["lic_add"] = self._multi([(s.sku_id, s.label) for s in state.addable_skus])
        for sku in state.addable_skus:
            fields[ADD_PLANS_PREFIX + sku.sku_id] = self._multi([(p.id, p.name) for p in sku.plans])
            shown.append(sku.sku_id)
        # Plan toggles are checkboxes: an unticked one is simply absent from the post. The page lists the
        # SKUs whose toggles it showed, so "absent" means "switched off" only for those.
        fields["lic_shown"] = forms.MultipleChoiceField(
            required=False, choices=[(s, s) for s in shown], widget=forms.MultipleHiddenInput
        )
        self.initial["lic_shown"] = shown

    # --- rows for the template ----------------------------------------------------------------------------

    def wire(self, *, check_url: str, people_url: str) -> None:
        """htmx attributes for the live checks and the user suggestions (the view knows the URLs)."""
        check = {
            "hx-get": check_url,
            "hx-trigger": "input changed delay:400ms, change",
            "hx-swap": "innerHTML",
        }
        if "username" in self.fields:
            for name in ("username", "domain"):
                self.fields[name].widget.attrs.update(
                    {**check, "hx-vals": '{"what": "upn"}', "hx-include": "#id_username, #id_domain",
                     "hx-target": "#upn-check", "aria-describedby": "upn-check"}
                )  # fmt: skip
        if "alias_add" in self.fields:
            self.fields["alias_add"].widget.attrs.update(
                {**check, "hx-vals": '{"what": "aliases"}', "hx-include": "#id_alias_add, #id_domain",
                 "hx-target": "#alias-check", "aria-describedby": "alias-check"}
            )  # fmt: skip
        for name in ("manager", "copy_groups_from"):
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"list": f"people-{name}", "hx-get": people_url, "hx-trigger": "input changed delay:300ms",
                     "hx-target": f"#people-{name}", "hx-swap": "innerHTML"}
                )  # fmt: skip

    def profile_rows(self) -> list[dict]:
        """Each profile field: the form field, or (mastered on-premises) the value shown read-only."""
        return [
            {"name": name, "label": label, "field": self[name] if name in self.fields else None,
             "value": self.base["profile"].get(prop, "")}
            for name, (prop, label) in ff.PROFILE.items()
        ]  # fmt: skip

    def licence_rows(self) -> list[dict]:
        rows = []
        for lic in self.state.licences:
            row = {"lic": lic, "remove": None, "plans": None}
            if lic.direct and REMOVE_PREFIX + lic.sku_id in self.fields:
                row["remove"] = self[REMOVE_PREFIX + lic.sku_id]
                row["plans"] = self[PLANS_PREFIX + lic.sku_id]
            rows.append(row)
        return rows

    def add_licence_rows(self) -> list[dict]:
        if "lic_add" not in self.fields:
            return []
        chosen = set(self._value("lic_add") or [])
        return [
            {"sku": sku, "checked": sku.sku_id in chosen, "plans": self[ADD_PLANS_PREFIX + sku.sku_id]}
            for sku in self.state.addable_skus
        ]

    def _value(self, name):
        if self.is_bound:
            field = self.fields[name]
            return field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
        return self.initial.get(name)

    def checked(self, name: str) -> set[str]:
        return set(self._value(name) or []) if name in self.fields else set()

    # --- validation ---------------------------------------------------------------------------------------

    def clean_domain(self):
        domain = (self.cleaned_data.get("domain") or "").lower()
        if domain not in self.state.domains:
            raise forms.ValidationError("Pick one of the tenant's verified domains.")
        return domain

    def clean_lic_add(self):
        chosen = self.cleaned_data.get("lic_add") or []
        problems = []
        for sku_id in chosen:
            sku = self.state.sku(sku_id)
            if sku is None:
                problems.append("That licence is no longer subscribed in this tenant.")
            elif not sku.assignable:
                problems.append(f"{sku.name}: the subscription is {sku.capability_status.lower()}.")
            elif sku.available < 1:
                problems.append(f"{sku.name}: no unit left ({sku.consumed_units} of {sku.enabled_units} "
                                "assigned). Free one or buy more first.")  # fmt: skip
        if problems:
            raise forms.ValidationError(problems)
        return chosen

    def clean_alias_add(self):
        text = self.cleaned_data.get("alias_add") or ""
        addresses, problems = ff.parse_aliases(
            text, default_domain=self.state.domain or self.state.domains[0], domains=self.state.domains
        )
        own = {a.lower() for a in self.state.aliases} | {
            self.state.upn.lower(),
            self.state.primary_address.lower(),
        }
        problems += [f"{a} is already an address of this user." for a in addresses if a.lower() in own]
        if problems:
            raise forms.ValidationError(problems)
        return addresses

    def _resolve(self, name: str, text: str):
        try:
            found = self.lookup_user(self.state.tenant, text)
        except GraphError as error:
            self.add_error(name, f"Could not look that user up: {error.message}")
            return None
        if found is None:
            self.add_error(name, f"No user “{text}” in this tenant.")
            return None
        if found[0] == self.state.user_id:
            self.add_error(name, "Pick another user than the one being edited.")
            return None
        return found

    def clean(self):
        data = super().clean()
        state = self.state
        if "username" in self.fields and "username" in data and "domain" in data:
            upn = f"{data['username']}@{data['domain']}"
            if upn != self.base["upn"]:
                self._check_addresses("username", [upn])
        if data.get("alias_add"):
            self._check_addresses("alias_add", data["alias_add"])
        if data.get("copy_groups_from"):
            self.copy_source = self._resolve("copy_groups_from", data["copy_groups_from"])
        manager_text = (data.get("manager") or "").strip()
        original = self.base.get("manager")
        if "manager" in self.fields and manager_text and not self._same_user(manager_text, original):
            self.new_manager = self._resolve("manager", manager_text)
        usage = data.get("usage_location", "")
        keeps_licences = any(
            not data.get(REMOVE_PREFIX + lic.sku_id) for lic in state.licences if lic.direct
        ) or any(not lic.direct for lic in state.licences)
        if not usage and (data.get("lic_add") or (keeps_licences and self.base["usage_location"])):
            self.add_error("usage_location", "A licensed user needs a usage location.")
        return data

    @staticmethod
    def _same_user(text: str, user: dict | None) -> bool:
        if not user:
            return False
        text = text.strip().lower()
        if text.endswith(">") and "<" in text:
            text = text.rsplit("<", 1)[1][:-1].strip()
        return text in {str(user.get("id", "")).lower(), str(user.get("upn", "")).lower()}

    def _check_addresses(self, name: str, addresses: list[str]) -> None:
        try:
            problems = self.check_addresses(self.state.tenant, addresses, self.state.user_id)
        except GraphError as error:
            self.add_error(name, f"Could not check whether it is free: {error.message}")
            return
        for address in addresses:
            reason = problems.get(address.lower())
            if reason:
                self.add_error(name, f"{address}: {reason}")

    # --- the result -----------------------------------------------------------------------------------------

    def to_edit(self) -> UserEdit:
        """The changes as a UserEdit (call after is_valid())."""
        data, base = self.cleaned_data, self.base
        edit = UserEdit(user_id=base["user_id"], user_principal_name=base["upn"])
        for name, (prop, _label) in ff.PROFILE.items():
            if name not in self.fields:
                continue  # mastered on-premises: never sent
            new = (data.get(name) or "").strip()
            if new != (base["profile"].get(prop) or "").strip():
                edit.changes[prop] = rules.graph_value(prop, new)
        if "username" in self.fields:
            upn = f"{data['username']}@{data['domain']}"
            if upn != base["upn"]:
                edit.changes["userPrincipalName"] = upn
        usage = data.get("usage_location") or ""
        if usage != base["usage_location"]:
            edit.changes["usageLocation"] = usage or None
        if "lic_add" in self.fields:
            self._licence_changes(edit)
        if "group_remove" in self.fields:
            edit.remove_group_ids = list(data.get("group_remove") or [])
            edit.copy_groups_from = self.copy_source[0] if self.copy_source else None
        if "group_add" in self.fields:
            edit.add_group_ids = list(data.get("group_add") or [])
        if "alias_add" in self.fields:
            edit.add_aliases = list(data.get("alias_add") or [])
            edit.remove_aliases = list(data.get("alias_remove") or [])
        if "manager" in self.fields:
            text = (data.get("manager") or "").strip()
            if not text:
                edit.manager_id = None if base.get("manager") else UNCHANGED
            elif self.new_manager:
                edit.manager_id = self.new_manager[0]
        self.edit = edit
        return edit

    def _licence_changes(self, edit: UserEdit) -> None:
        data, base = self.cleaned_data, self.base
        shown = set(data.get("lic_shown") or [])
        for lic in self.state.licences:
            if REMOVE_PREFIX + lic.sku_id not in self.fields:
                continue
            if data.get(REMOVE_PREFIX + lic.sku_id):
                edit.remove_licences.append(lic.sku_id)
                continue
            if lic.sku_id not in shown:
                continue
            before = set(base["licences"][lic.sku_id]["disabled"])
            offered = {p.id for p in lic.plans}
            on = set(data.get(PLANS_PREFIX + lic.sku_id) or [])
            # Plans the page did not offer keep their state; offered ones follow their toggle.
            after = (before - offered) | (offered - on)
            if after != before:
                edit.change_plans.append(LicenceChoice(lic.sku_id, sorted(after)))
        for sku_id in data.get("lic_add") or []:
            sku = self.state.sku(sku_id)
            offered = {p.id for p in sku.plans} if sku else set()
            on = set(data.get(ADD_PLANS_PREFIX + sku_id) or []) if sku_id in shown else offered
            edit.add_licences.append(LicenceChoice(sku_id, sorted(offered - on)))

    # --- the summary shown before saving --------------------------------------------------------------------

    def summary(self) -> list[tuple[str, str]]:
        """(section, sentence) for every change in ``self.edit``, in the words the technician used."""
        edit, base, state = self.edit, self.base, self.state
        lines: list[tuple[str, str]] = []
        labels = {prop: label for prop, label in ff.PROFILE.values()}
        labels |= {"userPrincipalName": "Sign-in name (UPN)", "usageLocation": "Usage location"}
        for prop, value in edit.changes.items():
            if prop == "userPrincipalName":
                before = base["upn"]
            elif prop == "usageLocation":
                before = base["usage_location"]
            else:
                before = base["profile"].get(prop, "")
            after = value[0] if isinstance(value, list) and value else value
            lines.append(("Profile", f"{labels.get(prop, prop)}: {_quoted(before)} → "
                                     f"{_quoted(after) if after else 'cleared'}"))  # fmt: skip
        for choice in edit.add_licences:
            sku = state.sku(choice.sku_id)
            lines.append(("Licences", f"Add {sku.name if sku else choice.sku_id}{_plans_off(sku, choice)}"))
        for sku_id in edit.remove_licences:
            lines.append(("Licences", f"Remove {base['licences'].get(sku_id, {}).get('name', sku_id)}"))
        for choice in edit.change_plans:
            lic = next((h for h in state.licences if h.sku_id == choice.sku_id), None)
            names = {p.id: p.name for p in lic.plans} if lic else {}
            before = set(base["licences"][choice.sku_id]["disabled"])
            off = [names.get(p, p) for p in sorted(set(choice.disabled_plans) - before)]
            on = [names.get(p, p) for p in sorted(before - set(choice.disabled_plans))]
            parts = ([f"switch off {', '.join(off)}"] if off else []) + (
                [f"switch on {', '.join(on)}"] if on else []
            )
            lines.append(("Licences", f"{lic.name if lic else choice.sku_id}: {'; '.join(parts)}"))
        joinable = {g.id: g for g in state.group_choices}
        for group_id in edit.add_group_ids:
            group = joinable.get(group_id)
            lines.append(("Groups", f"Add to {group.name} ({group.kind})" if group else f"Add to {group_id}"))
        for group_id in edit.remove_group_ids:
            group = base["groups"].get(group_id, {})
            lines.append(("Groups", f"Remove from {group.get('name', group_id)} ({group.get('kind', '?')})"))
        if edit.copy_groups_from and self.copy_source:
            _id, upn, name = self.copy_source
            lines.append(("Groups", f"Copy group memberships from {name or upn} ({upn}); dynamic, synced and "
                                    "already joined groups are skipped"))  # fmt: skip
        lines += [("Aliases", f"Add {a}") for a in edit.add_aliases]
        lines += [("Aliases", f"Remove {a}") for a in edit.remove_aliases]
        old = base.get("manager")
        if edit.manager_id is None:
            lines.append(("Manager", f"Remove the manager ({old['name'] or old['upn']})"))
        elif edit.manager_id is not UNCHANGED and self.new_manager:
            _id, upn, name = self.new_manager
            was = f" (was {old['name'] or old['upn']})" if old else ""
            lines.append(("Manager", f"Set the manager to {name or upn} ({upn}){was}"))
        return lines


def _quoted(value) -> str:
    return f"“{value}”" if value else "empty"


def _plans_off(sku, choice: LicenceChoice) -> str:
    if not choice.disabled_plans or sku is None:
        return ""
    names = {p.id: p.name for p in sku.plans}
    return f" with {', '.join(names.get(p, p) for p in choice.disabled_plans)} switched off"


def has_changes(edit: UserEdit) -> bool:
    return bool(
        edit.changes or edit.add_licences or edit.remove_licences or edit.change_plans or edit.add_group_ids
        or edit.remove_group_ids or edit.copy_groups_from or edit.add_aliases or edit.remove_aliases
        or edit.manager_id is not UNCHANGED
    )  # fmt: skip
