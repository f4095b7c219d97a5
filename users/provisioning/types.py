"""Plain data passed from the forms (single add, edit, CSV import) to the provisioning flows."""

from __future__ import annotations

from dataclasses import dataclass, field

from users.actions.registry import Status

UNCHANGED = object()  # "leave this as it is" where None means "clear it"


@dataclass
class LicenceChoice:
    sku_id: str
    disabled_plans: list[str] = field(default_factory=list)  # servicePlanIds switched off in this SKU


@dataclass
class NewUser:
    """Everything the Add user form collects. ``password`` None means "generate one"."""

    display_name: str
    username: str  # the part before @ (mailNickname)
    domain: str
    given_name: str = ""
    surname: str = ""
    aliases: list[str] = field(default_factory=list)  # full addresses, user@domain
    password: str | None = None
    must_change_password: bool = False
    usage_location: str = ""  # ISO 3166 alpha-2; blank = the tenant's default
    licences: list[LicenceChoice] = field(default_factory=list)
    job_title: str = ""
    department: str = ""
    company_name: str = ""
    street_address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    business_phone: str = ""
    mobile_phone: str = ""
    manager_id: str | None = None
    group_ids: list[str] = field(default_factory=list)
    copy_groups_from: str | None = None  # a user id whose group memberships are copied

    @property
    def user_principal_name(self) -> str:
        return f"{self.username}@{self.domain}"


@dataclass
class UserEdit:
    """What Edit user changes. ``changes`` holds only Graph properties that differ from the current
    record (None clears a property); everything else is an explicit add / remove list."""

    user_id: str
    user_principal_name: str
    changes: dict = field(default_factory=dict)
    add_licences: list[LicenceChoice] = field(default_factory=list)
    remove_licences: list[str] = field(default_factory=list)  # sku ids
    change_plans: list[LicenceChoice] = field(default_factory=list)  # SKUs kept, disabled plans changed
    add_group_ids: list[str] = field(default_factory=list)
    remove_group_ids: list[str] = field(default_factory=list)
    copy_groups_from: str | None = None
    add_aliases: list[str] = field(default_factory=list)
    remove_aliases: list[str] = field(default_factory=list)
    manager_id: object = UNCHANGED  # UNCHANGED, None (remove the manager) or a user id


@dataclass
class StepResult:
    """One step's truthful result, shown to the technician and written to the audit log."""

    step: str  # create, profile, password, licences, aliases, groups, copy-groups, manager, invite
    status: str  # users.actions.registry.Status
    message: str
    request_ids: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (Status.SUCCESS, Status.ACCEPTED, Status.SKIPPED)


@dataclass
class ProvisionResult:
    """The outcome of Add user. ``password`` is shown once and never stored."""

    created: bool
    user_id: str | None
    user_principal_name: str
    password: str | None
    steps: list[StepResult] = field(default_factory=list)

    @property
    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == Status.FAILED]
