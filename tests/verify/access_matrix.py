"""The access matrix's declarations: who should be allowed what, written down here independently of the app.

Nothing in this module asks ``tenants.access``: the role → permission sets are restated from the issue's
role descriptions, and every URL and action names the permission it needs. The matrix test compares what
the app answers with what this table says, so a view that forgets a check (or a table entry that is wrong)
shows up as a disagreement instead of agreeing with itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- roles (restated from the issue: each role includes everything the one before it may do) -------------

READER = frozenset({"users.view", "users.export"})  # looks things up, exports lists, changes nothing
HELPDESK = READER | {
    "sync.run",
    "users.actions.helpdesk",
}  # passwords, unblock, sessions, MFA for ordinary users
EDITOR = HELPDESK | {"users.edit"}  # creates/edits users, licences, groups, mailboxes, bulk changes
ADMIN = EDITOR | {"users.actions.admin", "tenants.manage", "technicians.manage", "audit.view"}

PUBLIC = "public"  # no sign-in at all: the liveness probe of the load balancer
# Objects above tenants that only an Admin over all tenants reaches (issue 13): e.g. a technician whose
# scope is all tenants, whom no scoped Admin may edit or deactivate.
ALL_TENANTS = "all-tenants-admin"
# Issue 13: partner connections, discovery, adding and enabling tenants belong to Admins over all tenants.
ALL_TENANTS_ONLY = frozenset({"tenants.manage"})
SIGNED_IN = "signed-in"  # any signed-in technician, even one without a role or tenants
OTHERS_JOB = "others-job"  # someone else's job: Admins who see the job's tenant (the Jobs page's rule)


@dataclass(frozen=True)
class Principal:
    key: str
    role: str | None  # TechnicianProfile role, None = no profile
    scope: str | None  # "only" (the own tenants) or "all"; None = no tenants at all
    anonymous: bool = False

    @property
    def permissions(self) -> frozenset[str]:
        if self.anonymous:
            return frozenset()
        # A signed-in account without a profile is a Reader without tenants (the "no access yet").
        granted = {"reader": READER, "helpdesk": HELPDESK, "editor": EDITOR, "admin": ADMIN}.get(
            self.role or "reader", frozenset()
        )
        return granted if self.scope == "all" else granted - ALL_TENANTS_ONLY

    def sees(self, column: str) -> bool:
        """Whether the tenant of this column is in the principal's scope."""
        if self.anonymous or self.scope is None:
            return False
        return self.scope == "all" or column == "own"


PRINCIPALS = [
    Principal("anonymous", None, None, anonymous=True),
    Principal("no-profile", None, None),
    Principal("reader", "reader", "only"),
    Principal("helpdesk", "helpdesk", "only"),
    Principal("editor", "editor", "only"),
    Principal("admin-scoped", "admin", "only"),
    Principal("admin-all", "admin", "all"),
]


# --- every URL ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    need: str | tuple[str, ...]  # permission(s), SIGNED_IN or OTHERS_JOB
    bind: str | None = None  # how the tenant is named: path, query (?tenant= / POST tenant=), user, object
    methods: str = "G"  # G: GET only; P: POST only; GP: both; G+: a read view that also answers POST
    obj: str | None = None  # fresh object per cell: draft / run (bulk import), job, group
    refused: frozenset[int] = field(default_factory=frozenset)  # extra "no" answers (button fragments: 204)
    # The out-of-scope column is judged by comparison: the answer must equal the one for a tenant that does
    # not exist (a fragment that simply ignores an unknown tenant reveals nothing, and is not a "no" either).
    as_unknown: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        return self.need if isinstance(self.need, tuple) else (self.need,)

    @property
    def gets(self) -> bool:
        return "G" in self.methods

    @property
    def posts(self) -> bool:
        return "P" in self.methods


NOTHING = frozenset({204})  # "Add user" / "Bulk add" buttons answer 204 (render nothing) when not allowed
ACTIONS = "actions-matrix"  # users:action is covered per action key by the action matrix
VIEW, EXPORT, SYNC, HELP, EDIT = (
    "users.view",
    "users.export",
    "sync.run",
    "users.actions.helpdesk",
    "users.edit",
)
TENANTS, TECHS, AUDIT = "tenants.manage", "technicians.manage", "audit.view"

URL_RULES: dict[str, Rule | str] = {
    "home": Rule(SIGNED_IN, methods="G+"),
    "healthz-live": Rule(PUBLIC),
    "tenants:list": Rule(SIGNED_IN),
    "tenants:add": Rule(TENANTS, methods="GP"),
    "tenants:picker": Rule(SIGNED_IN),
    "tenants:select": Rule(VIEW, "query", "P"),  # choose the header's tenant: only one you can see
    "tenants:favourite": Rule(VIEW, "path", "P"),
    "tenants:toggle-enabled": Rule(TENANTS, "path", "P"),
    "tenants:connections": Rule(TENANTS),
    "tenants:connection-create": Rule(TENANTS, methods="GP"),
    "tenants:consent-callback": Rule(TENANTS),
    "tenants:connection-edit": Rule(TENANTS, methods="GP"),
    "tenants:connection-consent": Rule(TENANTS, methods="P"),
    "tenants:discover": Rule(TENANTS, methods="P"),
    "users:list": Rule(VIEW, "query"),
    "users:columns": Rule(SIGNED_IN, methods="P"),  # the technician's own column choice
    "users:export-csv": Rule(EXPORT, "query"),
    "users:export-xlsx": Rule(EXPORT, "query"),
    "users:panel": Rule(VIEW, "path"),
    "users:sync": Rule(SYNC, "path", "P"),
    "users:sync-status": Rule(VIEW, "path"),
    "users:action-menu": Rule(VIEW, "user", "G+"),
    "users:action": ACTIONS,
    "users:detail": Rule(VIEW, "path"),
    "users:detail-directory": Rule(VIEW, "path"),
    **{
        f"users:detail-{name}": Rule(VIEW, "path")
        for name in (
            "profile",
            "licences",
            "groups",
            "roles",  # issue 14: View user's Directory roles section
            "auth-methods",
            "mfa",
            "devices",
            "mobile-devices",  # issue 14: View user's Mobile devices section (Exchange)
            "sign-ins",
            "mailbox",
            "onedrive",
        )
    },  # fmt: skip
    "users:edit": Rule(EDIT, "path", "GP"),
    "users:edit-check": Rule(EDIT, "path"),
    "users:edit-people": Rule(EDIT, "path"),
    "users:add": Rule(EDIT, "query", "GP"),
    "identity-users-add": Rule(EDIT, "query", "GP"),
    "identity-users-add-slash": Rule(EDIT, "query", "GP"),
    "users:add-buttons": Rule(EDIT, "query", "G+", refused=NOTHING, as_unknown=True),
    "users:add-check-address": Rule(EDIT, "query"),
    "users:add-check-field": Rule(SIGNED_IN),  # a length check of the typed text: no tenant, no data
    "users:add-check-users": Rule(EDIT, "query"),
    "users:add-check-copy": Rule(EDIT, "query"),
    "users:invite": Rule(EDIT, "query", "GP"),
    # Compromise research is a Helpdesk tool (it leads to resets and revocations); its CSVs are exports.
    "users:research": Rule(HELP, "path"),
    "users:research-run": Rule(HELP, "path", "P"),
    "users:research-progress": Rule(HELP, "path"),
    "users:research-remediate": Rule(HELP, "path", "GP"),
    "users:research-resume": Rule(HELP, "path", "P"),
    "users:research-export": Rule((HELP, EXPORT), "path"),
    # Bulk add creates users (Editor). The import's pages belong to the technician who uploaded it: each
    # cell uses an import of its own principal, in the column's tenant.
    "users:bulk-add": Rule(EDIT, "query"),
    "users:bulk-add-button": Rule(EDIT, "query", refused=NOTHING, as_unknown=True),
    "users:bulk-add-template": Rule(SIGNED_IN),  # the empty template: column names only
    # Deleted users: anyone who sees users may list them; restoring is an Editor's change, deleting for
    # good an Admin's (the posted tenant, like every selected row's, must be in scope).
    "users:deleted": Rule(VIEW, "query"),
    "users:deleted-restore": Rule(EDIT, "query", "P"),
    "users:deleted-purge": Rule("users.actions.admin", "query", "P"),
    "users:bulk-add-upload": Rule(EDIT, "query", "P"),
    "users:bulk-add-preview": Rule(EDIT, "object", obj="draft"),
    "users:bulk-add-row": Rule(EDIT, "object", "GP", obj="draft"),
    "users:bulk-add-row-edit": Rule(EDIT, "object", obj="draft"),
    "users:bulk-add-row-leave-out": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-leave-out-problems": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-defaults": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-check": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-reupload": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-delete": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-run": Rule(EDIT, "object", "P", obj="draft"),
    "users:bulk-add-progress": Rule(EDIT, "object", obj="run"),
    "users:bulk-add-cancel": Rule(EDIT, "object", "P", obj="run"),
    "users:bulk-add-resume": Rule(EDIT, "object", "P", obj="run"),
    "users:bulk-add-results": Rule(EDIT, "object", obj="run"),
    "users:bulk-add-results-csv": Rule(EDIT, "object", obj="run"),
    "users:bulk-add-passwords": Rule(EDIT, "object", "P", obj="run"),
    "users:bulk-add-passwords-discard": Rule(EDIT, "object", "P", obj="run"),
    "technicians:list": Rule(TECHS),
    "technicians:roles": Rule(SIGNED_IN),  # what each role may do, and your own role
    "technicians:create": Rule(TECHS, methods="GP"),
    # The sample technician is scoped to all tenants: out of every scoped Admin's reach (404 like unknown).
    "technicians:edit": Rule((TECHS, ALL_TENANTS), methods="GP"),
    "technicians:set-active": Rule((TECHS, ALL_TENANTS), methods="P"),
    "technicians:groups": Rule(TECHS),
    "technicians:group-create": Rule(TECHS, methods="GP"),
    "technicians:group-edit": Rule(TECHS, methods="GP", obj="group"),
    "technicians:group-delete": Rule(TECHS, methods="P", obj="group"),
    "audit:list": Rule(AUDIT),
    "audit:export-csv": Rule(AUDIT),
    "jobs:list": Rule(SIGNED_IN),  # your own jobs (Admins: also others' on their tenants)
    "jobs:detail": Rule(OTHERS_JOB, "object", obj="job"),
    "jobs:cancel": Rule(OTHERS_JOB, "object", "P", obj="job"),
    "jobs:resume": Rule(OTHERS_JOB, "object", "P", obj="job"),
    "jobs:results-csv": Rule(OTHERS_JOB, "object", obj="job"),
    # Issue 17: the reference product's users URLs redirect to ours (?tenantFilter= or ?tenant=), refusing
    # up front what the target page would refuse; Export selected posts the bulk bar's ticked rows.
    **{f"identity-users{s}": Rule(VIEW, "query") for s in ("", "-slash", "-user", "-user-slash")},
    **{
        f"identity-users-{page}{s}": Rule(EDIT, "query")
        for page in ("bulk-add", "invite")
        for s in ("", "-slash")
    },
    "users:export-selected": Rule(EXPORT, "user", "P"),
}


# --- every action (restated from the role descriptions, not read from the registry) ------------------

# Helpdesk: password resets, unblocking, sessions, MFA, TAP, everyday mailbox help (out of office) and the
# compromise research that leads to them. Editor: everything that creates, edits or removes.
ACTION_NEEDS: dict[str, str] = {
    "block-sign-in": HELP, "unblock-sign-in": HELP, "revoke-sessions": HELP, "reset-password": HELP,
    "reset-password-must-change": HELP, "create-tap": HELP, "reset-mfa": HELP, "send-mfa-push": HELP,
    "set-per-user-mfa": HELP, "research-compromise": HELP, "set-out-of-office": HELP,
    "disable-out-of-office": HELP,
    "delete-user": EDIT, "clear-immutable-id": EDIT, "licences": EDIT, "convert-to-shared": EDIT,
    "convert-to-user": EDIT, "disable-forwarding": EDIT, "enable-archive": EDIT, "onedrive-shortcut": EDIT,
    "onedrive-provision": EDIT, "add-to-group": EDIT, "remove-from-group": EDIT,
    # Issue 14: forwarding and address-list visibility are mailbox edits; a typed password and "must change"
    # are Helpdesk password help; "never expires" changes the account's password policy (Editor).
    "set-forwarding": EDIT, "hide-from-address-list": EDIT, "show-in-address-list": EDIT,
    "set-chosen-password": HELP, "require-password-change": HELP, "password-never-expires": EDIT,
    "password-expires": EDIT,
    # Issue 14: removing one sign-in method is MFA help, as Re-require MFA registration (Helpdesk).
    "remove-auth-method": HELP,
    # Taking a directory role away is an administrator's decision (Admin only).
    "remove-directory-role": "users.actions.admin",
    # Removing a mailbox's mobile device partnerships is a mailbox change (Editor), as in the leaver flow.
    "remove-mobile-devices": EDIT,
}  # fmt: skip

# A user holding a privileged role may only be touched by an Admin: every action, not only credentials, MFA
# and sign-in state (issue 13: mail, OneDrive, groups, licences and immutable id too).
PRIVILEGED_GUARDED = frozenset(ACTION_NEEDS)


def expected(need: tuple[str, ...], principal: Principal, column: str | None) -> bool:
    """The declared answer for one cell (``column``: "own", "other" or None for tenant-less URLs)."""
    if need == (PUBLIC,):
        return True
    if principal.anonymous:
        return False
    if column is not None and not principal.sees(column):
        return False
    if need == (SIGNED_IN,):
        return True
    if need == (OTHERS_JOB,):
        return principal.role == "admin"
    if ALL_TENANTS in need:
        return (
            principal.role == "admin"
            and principal.scope == "all"
            and set(need) - {ALL_TENANTS} <= principal.permissions
        )
    return set(need) <= principal.permissions


# --- answers ---------------------------------------------------------------------------------------------


def verdict(response, *, refused_extra=frozenset()) -> str:
    """ "error", "login" (sent to sign in), "refused" or "allowed" for one response."""
    status = response.status_code
    if status >= 500:
        return "error"
    if status == 302 and response["Location"].startswith("/login/"):
        return "login"
    if status in (401, 403, 404) or status in refused_extra:
        return "refused"
    return "allowed"


def fingerprint() -> tuple:
    """Every state a request of the matrix could change, read in ONE query (it runs around hundreds of
    cells): row counts and change markers of the portal's tables, and the sandbox directory's change
    counters. Compared around forbidden POSTs (and GETs of state-changing URLs), it shows a change the
    status code would hide."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from graph.sandbox.models import SandboxMailbox, SandboxTenant
    from tenants.models import FavouriteTenant, PartnerConnection, TechnicianProfile, Tenant, TenantGroup
    from users.models import (
        AuditEntry,
        BulkImport,
        BulkImportRow,
        CompromiseReport,
        DirectorySyncState,
        DirectoryUser,
        Job,
        JobItem,
        TechnicianPreference,
    )

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    def col(model, name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    def code(model, name: str, values) -> str:
        """A column's text as a number (CASE), so a role or status change moves the sum."""
        whens = " ".join(f"WHEN '{v}' THEN {i + 1}" for i, v in enumerate(values))
        return f"(CASE {col(model, name)} {whens} ELSE 99 END)"

    def marker(model, name: str) -> str:
        """Row count and the newest value of ``name`` (a timestamp or id), as text."""
        return f"COUNT(*) || '/' || COALESCE(CAST(MAX({col(model, name)}) AS VARCHAR(64)), '')"

    profile, user = TechnicianProfile, get_user_model()
    job_states = [s.value for s in Job.Status]
    sync_states = [s.value for s in Tenant.SyncStatus]
    parts = [
        (AuditEntry, "COUNT(*)"),
        (Job, f"COUNT(*) * 1000003 + SUM({col(Job, 'id')} * {code(Job, 'status', job_states)})"),
        (Job, f"SUM(CASE WHEN {col(Job, 'cancel_requested')} THEN {col(Job, 'id')} ELSE 0 END)"),
        (JobItem, "COUNT(*)"),
        (BulkImport, marker(BulkImport, "updated_at")),
        (BulkImportRow, marker(BulkImportRow, 'updated_at')),
        (CompromiseReport, marker(CompromiseReport, 'updated_at')),
        (DirectorySyncState, marker(DirectorySyncState, 'last_attempt_at')),
        (DirectoryUser, "COUNT(*)"),
        (Tenant, f"COUNT(*) * 1000003 + SUM(CASE WHEN {col(Tenant, 'enabled')} THEN {col(Tenant, 'id')} ELSE 0 END)"),
        (Tenant, f"SUM({col(Tenant, 'id')} * {code(Tenant, 'last_sync_status', sync_states)})"),
        (profile, f"COUNT(*) * 1000003 + SUM({col(profile, 'id')} * ({code(profile, 'role', profile.Role.values)}"
                  f" * 10 + {code(profile, 'scope', profile.Scope.values)}))"),
        (profile.tenants.through, "COUNT(*) || '/' || CAST(COALESCE(SUM(id), 0) AS VARCHAR(64))"),
        (user, f"COUNT(*) * 1000003 + SUM(CASE WHEN {col(user, 'is_active')} THEN {col(user, 'id')} ELSE 0 END)"),
        (TenantGroup, f"COUNT(*) || '/' || CAST(COALESCE(SUM({col(TenantGroup, 'id')} * LENGTH({col(TenantGroup, 'name')})), 0) AS VARCHAR(64))"),
        (TenantGroup.tenants.through, "COUNT(*) || '/' || CAST(COALESCE(SUM(id), 0) AS VARCHAR(64))"),
        (FavouriteTenant, "COUNT(*) || '/' || CAST(COALESCE(SUM(id), 0) AS VARCHAR(64))"),
        (PartnerConnection, marker(PartnerConnection, 'updated_at')),
        (TechnicianPreference, marker(TechnicianPreference, 'updated_at')),
        (SandboxTenant, f"SUM({col(SandboxTenant, 'change_counter')})"),
        (SandboxMailbox, f"COUNT(*) || '/' || CAST(SUM(LENGTH({col(SandboxMailbox, 'recipient_type_details')})) AS VARCHAR(64))"),
    ]  # fmt: skip
    sql = "SELECT " + ", ".join(f"(SELECT {expr} FROM {table(model)})" for model, expr in parts)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


# --- objects above tenants, tried by Admins of every kind of scope (issue 13) ------------------------------

# Admins whose scope is not "all tenants": only their tenants, all but one tenant, the tenants of a group.
# Each holds Northwind and Fabrikam and never Tailspin (the out-of-scope tenant of every case below).
SCOPED_ADMIN_SCOPES = ("only", "except", "groups")

# How a scoped Admin is refused, per object (restated from the issue, not read from access_global):
KIND_403 = "403"  # pages whose whole kind is out of reach: answered before any object is looked up
UNKNOWN_404 = "404"  # an object out of reach answers exactly as an unknown one
FORM_422 = "422"  # a form that would widen someone's reach: refused next to the field, nothing saved
NO_LEAK = "200-no-leak"  # a read page the scoped Admin may open, naming nothing outside its scope

ABOVE_TENANTS: dict[str, str] = {
    "connection-list": KIND_403, "connection-create": KIND_403, "connection-edit": KIND_403,
    "consent-start": KIND_403, "consent-callback": KIND_403, "discover": KIND_403, "add-tenant": KIND_403,
    "toggle-own-tenant": KIND_403, "toggle-other-tenant": UNKNOWN_404,
    # technicians: out of reach when the role or scope is wider than the Admin's own
    "technician-out-of-reach": UNKNOWN_404, "technician-create-wider": FORM_422,
    "technician-widen-inside": FORM_422, "technician-widen-self": FORM_422,
    # tenant groups naming a tenant outside the scope (and users?tenant=group:<id> of such a group)
    "group-out-of-reach": UNKNOWN_404, "group-create-wider": FORM_422, "group-widen-inside": FORM_422,
    "group-by-id": UNKNOWN_404,
    # what the Admin may read: its technician and group lists, the audit log, its export and filters
    "technician-list": NO_LEAK, "group-list": NO_LEAK, "audit-list": NO_LEAK, "audit-export": NO_LEAK,
}  # fmt: skip

# Every field of a partner connection form a scoped Admin tries to change, one at a time.
CONNECTION_CHANGES: dict[str, str] = {
    "name": "Taken over", "partner_tenant_id": "11111111-2222-3333-4444-555555555555",
    "client_id": "66666666-7777-8888-9999-000000000000", "certificate_thumbprint": "AB" * 20,
    "default_auth_mode": "app_only", "login_url": "https://login.attacker.example",
    "graph_url": "https://graph.attacker.example", "exchange_url": "https://outlook.attacker.example",
    "sharepoint_url_template": "https://{name}-admin.attacker.example",
    "client_secret": "stolen-secret", "certificate_pem": "-----BEGIN PRIVATE KEY-----",
}  # fmt: skip

# Technicians a scoped Admin must not reach (its scope: Northwind + Fabrikam, never Tailspin): one of each
# way to be wider. (role, scope, tenant names of "only"/"except"); "superuser" has no profile.
OUT_OF_REACH_TECHNICIANS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "wider-scope": ("reader", "only", ("Northwind Traders", "Tailspin Toys")),
    "other-scope": ("helpdesk", "only", ("Tailspin Toys",)),
    "all-tenants-reader": ("reader", "all", ()),
    "all-but-reader": ("reader", "except", ("Northwind Traders",)),  # reaches Tailspin, and every new tenant
    "wider-admin": ("admin", "only", ("Northwind Traders", "Tailspin Toys")),
    "all-tenants-admin": ("admin", "all", ()),
    "superuser": ("superuser", "all", ()),
}
PRIVILEGED_ROLE_CHECKERS = ("helpdesk", "editor")  # refused on privileged targets, with the role named
