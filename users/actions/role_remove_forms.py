"""Form of Remove directory role: one of the roles assigned to the user directly, read live from Graph when
the modal opens. Roles held through a role-assignable group are listed in the help text with the group's
name: removing that assignment would take the role from every member, so it is not offered here."""

from __future__ import annotations

from django import forms

from graph.client import GraphClient
from graph.errors import GraphError
from graph.services import role_assignments

from .security_forms import SecurityActionForm


def read_roles(tenant, targets) -> list[dict] | None:
    if tenant is None or len(targets) != 1:
        return None
    try:
        return role_assignments.user_roles(GraphClient.for_tenant(tenant), str(targets[0].user_id))
    except GraphError:
        return None


def role_title(row: dict) -> str:
    scope = "" if row["scope"] == "/" else f" (scope {row['scope']})"
    return f"{row['role']}{scope}"


class RemoveRoleForm(SecurityActionForm):
    assignment = forms.ChoiceField(label="Directory role to remove", widget=forms.RadioSelect)

    def __init__(self, *args, roles: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles = roles if roles is not None else read_roles(self.tenant, self.targets)
        field = self.fields["assignment"]
        if self.roles is None:
            field.choices = []
            field.help_text = "The user's roles could not be read from Microsoft just now."
            value = self.data.get(self.add_prefix("assignment"), "") if self.is_bound else ""
            if value:  # the handler reads the roles again before removing anything
                field.choices = [(value, value)]
            return
        field.choices = [(r["assignment_id"], role_title(r)) for r in self.roles if r["removable"]]
        through = [
            f"{role_title(r)} through the group {r['via_group']}" for r in self.roles if not r["removable"]
        ]
        notes = []
        if not field.choices:
            notes.append("The user holds no directory role directly.")
        if through:
            notes.append(
                "Held through a group (remove the user from the group, or the group's assignment, in Entra): "
                + "; ".join(through)
                + "."
            )
        field.help_text = " ".join(notes)
