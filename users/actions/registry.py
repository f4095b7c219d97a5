"""The action registry: every per-user action declared once.

An ``Action`` says what it is (key, label, group, icon), what it will do (``confirm``: text naming the
user(s), the tenant and the exact consequence), what it needs (optional ``form_class``; the
``permission``; on a privileged target every action also needs the Admin role: users.actions.guard), when
it applies (``applies``), how it runs (on a selection or not, in the background or not, whether it produces
a one-time secret) and the handler that calls ``graph/`` services. The row menu, View user, More info and
the bulk bar are all rendered from ``REGISTRY``; one generic modal view (``users.views.actions``) renders
and runs any action, and one runner (``users.actions.runner``) executes it on one user or many, batching
Graph writes.

Two handler shapes, pick one per action:

* ``plan(ctx, target, data) -> list[BatchRequest]`` plus ``interpret(ctx, target, data, results) -> Outcome``:
  pure Graph writes. The runner sends the requests of all targets together in ``$batch`` requests of 20
  (ids are made unique per target by the runner) and hands each target its own results.
* ``run(ctx, target, data) -> Outcome``: anything else (Exchange cmdlets, reads before writes, multi-step
  flows). The runner calls it per target with bounded concurrency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django import forms

    from graph.batch import BatchRequest, BatchResult
    from graph.client import GraphClient
    from graph.exchange import ExchangeClient
    from tenants.models import Tenant
    from users.models import DirectoryUser


class Group:
    """Menu groups, in display order."""

    ACCOUNT = "Account"
    SECURITY = "Security"
    PASSWORD = "Password"
    MAIL = "Mail"
    ONEDRIVE = "OneDrive"
    GROUPS = "Groups"
    ORDER = (ACCOUNT, SECURITY, PASSWORD, MAIL, ONEDRIVE, GROUPS)


class Status:
    SUCCESS = "success"
    ACCEPTED = "accepted"  # the service took it, the effect is not confirmed yet (e.g. password writeback)
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Outcome:
    """What happened to one target. ``secret`` (a new password, a pass) is shown once to the technician
    who ran the action and is never stored, logged or audited; everything else may be."""

    status: str
    message: str
    request_ids: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None
    # Write-through: the user's Graph record after the change (partial is fine), or ``removed``.
    user_record: dict | None = None
    removed: bool = False
    refresh: bool = False  # ask the runner to re-read the user from Graph and update the cache

    @property
    def ok(self) -> bool:
        return self.status in (Status.SUCCESS, Status.ACCEPTED)


@dataclass
class Target:
    tenant: Tenant
    user: DirectoryUser  # the cached row; ``user.graph`` holds the last synced Graph record


@dataclass
class ActionContext:
    """Per tenant: the clients to use (high priority: a technician is waiting) and who is acting."""

    tenant: Tenant
    technician: Any
    graph: GraphClient
    exchange: ExchangeClient
    graph_beta: GraphClient | None = None
    source_ip: str | None = None
    job_id: int | None = None


Applies = Callable[["DirectoryUser"], "str | None"]  # None: applies; otherwise why it does not


@dataclass
class Action:
    key: str
    label: str
    group: str
    icon: str  # bootstrap-icons name without the "bi-" prefix
    permission: str  # see tenants.access.PERMISSIONS
    confirm: Callable[[list[Target], Any], str]  # (targets, tenant or None for several tenants) -> text
    applies: Applies = lambda user: None  # noqa: E731 - a declaration default
    form_class: type[forms.Form] | None = None
    bulk: bool = True
    background: bool = False  # always run as a Job, even for one user
    secret_output: bool = False  # produces a one-time secret: runs in the request, never in a worker
    danger: bool = False  # red confirm button
    plan: Callable[[ActionContext, Target, dict], list[BatchRequest]] | None = None
    interpret: Callable[[ActionContext, Target, dict, dict[str, BatchResult]], Outcome] | None = None
    run: Callable[[ActionContext, Target, dict], Outcome] | None = None
    warnings: Callable[[list[Target]], list[str]] | None = None  # shown in the modal before confirming
    # Why this technician may not run the action with these inputs on this tenant (e.g. joining a
    # role-assignable group needs the Admin role), or None. The runner asks once per tenant, before anything
    # is sent; every target is then skipped with the reason.
    refuse: Callable[[ActionContext, dict], str | None] | None = None
    # A Job resumed after its worker died: targets whose requests that worker sent without recording the
    # answer. Reads Graph and returns {user id: Outcome} for those already changed, which are then not sent
    # again (without it they are: fine for actions whose repeat changes nothing).
    already_done: Callable[[ActionContext, list[Target], dict], dict[str, Outcome]] | None = None

    def __post_init__(self) -> None:
        if (self.run is None) == (self.plan is None):
            raise ValueError(f"action {self.key}: declare exactly one of run= or plan= (+ interpret=)")
        if self.plan is not None and self.interpret is None:
            raise ValueError(f"action {self.key}: plan= needs interpret=")
        if self.group not in Group.ORDER:
            raise ValueError(f"action {self.key}: unknown group {self.group!r}")
        if self.secret_output and self.background:
            raise ValueError(f"action {self.key}: a one-time secret is never produced in the background")

    def why_not(self, user: DirectoryUser) -> str | None:
        return self.applies(user)

    def build_form(self, data=None, *, tenant=None, targets=None):
        """The action's form (None when it has none). Every action form takes ``tenant`` (None for a
        selection across tenants) and ``targets`` (cached rows, possibly a preview) as keywords."""
        if self.form_class is None:
            return None
        return self.form_class(data, tenant=tenant, targets=targets)


REGISTRY: dict[str, Action] = {}


def register(action: Action) -> Action:
    if action.key in REGISTRY:
        raise ValueError(f"action {action.key} registered twice")
    REGISTRY[action.key] = action
    return action


def get(key: str) -> Action | None:
    _load()
    return REGISTRY.get(key)


def all_actions() -> list[Action]:
    _load()
    order = {name: i for i, name in enumerate(Group.ORDER)}
    return sorted(REGISTRY.values(), key=lambda a: (order[a.group], a.label))


def grouped(actions: list[Action]) -> list[tuple[str, list[Action]]]:
    """[(group, [actions...])] in menu order, empty groups left out."""
    out: list[tuple[str, list[Action]]] = []
    for name in Group.ORDER:
        members = [a for a in actions if a.group == name]
        if members:
            out.append((name, members))
    return out


_loaded = False


def _load() -> None:
    """Import the action modules once so their ``register(...)`` calls run."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from . import catalogue  # noqa: F401
