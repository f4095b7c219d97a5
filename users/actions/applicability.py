"""Whether an action applies to one user, and how the menus show one that does not.

Each action declares ``applies(user) -> None | why not`` in the registry, evaluated from the cached row
only (no Graph call), so a menu of twenty actions costs nothing extra. The same predicate is used by the
row menu, More info and View user (through ``users.actions.menus``), by the modal view before it runs and
by the runner, which skips a target that does not qualify with exactly that reason, so an action posted
by hand is refused the way the menu explained it.

Menus grey out an action that does not apply and say why, as the reference product does: hiding it would
leave the technician guessing where "Clear immutable ID" or "Pre-provision OneDrive" went. The exception
is one half of a pair whose other half is then offered (Block / Unblock sign-in): the menu shows the one
that applies rather than a disabled twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from users.models import DirectoryUser

    from .registry import Action

# Pairs of opposites: when one does not apply, the other does, so the menu shows just that one.
HIDDEN_WHEN_INAPPLICABLE = frozenset(
    {"block-sign-in", "unblock-sign-in", "convert-to-shared", "convert-to-user"}
)


@dataclass(frozen=True)
class Applicability:
    action: Action
    why_not: str | None  # None: it applies

    @property
    def applies(self) -> bool:
        return not self.why_not

    @property
    def shown(self) -> bool:
        """Whether a menu lists it at all (enabled, or greyed out with ``why_not``)."""
        return self.applies or self.action.key not in HIDDEN_WHEN_INAPPLICABLE


def check(action: Action, user: DirectoryUser) -> Applicability:
    return Applicability(action, action.why_not(user) or None)


def for_user(actions: list[Action], user: DirectoryUser) -> list[Applicability]:
    """The actions a menu lists for ``user``, in the given order, each with whether it applies and why not."""
    return [item for item in (check(action, user) for action in actions) if item.shown]
