"""Menus built from the registry: the row menu, More info, View user and the bulk bar.

An entry is shown when the technician may run the action on the tenant; for one user, an action that does
not apply to that user is shown greyed out with the reason (users.actions.applicability decides which).
Groups keep the menu short (Account, Security, Password, Mail, OneDrive, Groups).
Entries link to the one modal view with the user(s) in the query string, so they work as plain links too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from tenants.access import can

from . import applicability
from .registry import Action, all_actions, grouped
from .selection import user_value


@dataclass
class MenuEntry:
    action: Action
    url: str
    why_not: str | None = None  # set: shown greyed out with this reason, not a link

    @property
    def disabled(self) -> bool:
        return bool(self.why_not)

    @property
    def key(self) -> str:
        return self.action.key

    @property
    def label(self) -> str:
        return self.action.label

    @property
    def icon(self) -> str:
        return self.action.icon

    @property
    def danger(self) -> bool:
        return self.action.danger


def action_url(action: Action, query: str = "") -> str:
    url = reverse("users:action", args=[action.key])
    return f"{url}?{query}" if query else url


def permitted(technician, tenant=None) -> list[Action]:
    return [a for a in all_actions() if can(technician, a.permission, tenant)]


def may_act(technician, tenant=None) -> bool:
    """Whether any action menu is worth showing at all (Readers get none)."""
    return bool(permitted(technician, tenant))


def user_menu(technician, user) -> list[tuple[str, list[MenuEntry]]]:
    """[(group, entries)] for one cached DirectoryUser; entries that do not apply carry ``why_not``."""
    query = urlencode({"user": user_value(user)})
    checked = {
        item.action.key: item for item in applicability.for_user(permitted(technician, user.tenant), user)
    }
    actions = [item.action for item in checked.values()]
    return [
        (group, [MenuEntry(a, action_url(a, query), checked[a.key].why_not) for a in members])
        for group, members in grouped(actions)
    ]


def bulk_menu(technician, tenant=None) -> list[tuple[str, list[MenuEntry]]]:
    """[(group, entries)] for the bulk bar; the entries post the bulk form to the modal view."""
    actions = [a for a in permitted(technician, tenant) if a.bulk]
    return [(group, [MenuEntry(a, action_url(a)) for a in members]) for group, members in grouped(actions)]
