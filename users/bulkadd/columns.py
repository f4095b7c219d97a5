"""The columns of a bulk import file — the one list the template, the reader and the validator all use.

The template's header row is ``Column.header`` of each column in order; the reader maps a file's headers
back to columns by ``matches`` (case-, space-, dash- and underscore-insensitive), which also accepts the
Microsoft 365 admin center's bulk-add headers ("User Name", "First Name", ..., "Country or Region") and the
reference product's (``mailNickName``, ``surName``...); the validator checks each column by its ``kind``,
``graph`` property (lengths from ``users.provisioning.rules.MAX_LENGTH``) and ``required``. A column added
here is in the template, read from files and validated, with nothing else to keep in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from users.provisioning import rules

LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    key: str  # the row's data key (and the fix-in-place form field)
    header: str  # the template's header
    label: str
    kind: str = "text"  # text | bool | list | password | country | email | url | longtext | username
    graph: str | None = None  # the Graph user property it fills (lengths come from rules.MAX_LENGTH)
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""
    example: str = ""
    in_template: bool = True
    defaultable: bool = False  # a file-wide default fills it when blank
    names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "names", frozenset(normalise(n) for n in (self.header, self.key, self.label, *self.aliases))
        )

    def matches(self, header: str) -> bool:
        return normalise(header) in self.names

    @property
    def max_length(self) -> int | None:
        return rules.MAX_LENGTH.get(self.graph) if self.graph else None


def normalise(header: str) -> str:
    """ "First Name", "first_name", "FirstName", "first-name" → "firstname"."""
    return re.sub(r"[\s_\-.]+", "", str(header or "")).casefold()


def _profile(key: str, header: str, *aliases: str, example: str = "", help: str = "") -> Column:
    graph, label = {name: (prop, label) for name, prop, label in rules.PROFILE_FIELDS}[key]
    return Column(key, header, label, graph=graph, aliases=aliases, example=example, help=help)


USER_COLUMNS: tuple[Column, ...] = (
    _profile("given_name", "givenName", "First Name", "firstname", example="Adele"),
    _profile("surname", "surname", "Last Name", "lastname", "familyName", example="Vance"),
    _profile("display_name", "displayName", "Display Name", "name", example="Adele Vance",
             help="Blank: first name and last name."),
    Column("username", "username", "Username", kind="username", graph="mailNickname", required=True,
           aliases=("User Name", "mailNickname", "userPrincipalName", "UPN", "alias"), example="adele.vance",
           help="The part before @. A full address (adele@contoso.com) is split into username and domain."),
    Column("domain", "domain", "Domain", aliases=("primDomain", "upnSuffix"), example="contoso.com",
           help="One of the tenant's verified domains. Blank: the tenant's default domain."),
    Column("password", "password", "Password", kind="password", aliases=("initialPassword",),
           help="Optional. Blank: a strong password is generated. Shown once at the end, never stored."),
    Column("must_change_password", "mustChangePassword", "Must change password", kind="bool",
           aliases=("MustChangePass", "forceChangePasswordNextSignIn", "Must change password at next sign-in"),
           example="true", defaultable=True, help="true / false (yes / no, 1 / 0). Blank: the file default."),
    Column("usage_location", "usageLocation", "Usage location", kind="country", graph="usageLocation",
           aliases=("Usage Location",), example="GB", defaultable=True,
           help="ISO country code (GB, US, NL) or name. Needed for licences. Blank: the file default."),
    Column("licences", "licences", "Licences", kind="list",
           aliases=("licenses", "licence", "license", "Licenses assigned", "skus"), defaultable=True,
           example="Microsoft 365 Business Premium",
           help="Product names or part numbers (SPB), several separated by ';'. Blank: the file default."),
    Column("groups", "groups", "Groups", kind="list", aliases=("group", "memberOf", "AddToGroups"),
           defaultable=True, example="SG-VPN-Users; Marketing Team",
           help="Group names (or ids), several separated by ';'. Blank: the file default."),
    _profile("job_title", "jobTitle", "Job Title", "title", example="Product Manager"),
    _profile("department", "department", "Department", example="Marketing"),
    _profile("company_name", "companyName", "Company", "Company Name", example="Contoso"),
    _profile("street_address", "streetAddress", "Address", "Street Address", "street"),
    _profile("city", "city", "City"),
    _profile("state", "state", "State or Province", "province", "region"),
    _profile("postal_code", "postalCode", "ZIP or Postal Code", "Postal Code", "zip", "zipcode", "postcode"),
    _profile("country", "country", "Country or Region", "countryOrRegion"),
    _profile("business_phone", "businessPhones", "Office Phone", "Business Phone", "telephoneNumber",
             "phone"),
    _profile("mobile_phone", "mobilePhone", "Mobile Phone", "mobile"),
    Column("aliases", "aliases", "Aliases", kind="list", aliases=("addedAliases", "addedAliasses", "alias addresses"),
           help="Extra e-mail addresses, several separated by ';'. A name without @ gets the user's domain."),
    Column("manager", "manager", "Manager", kind="email", aliases=("managerUPN", "manager upn"),
           help="The manager's user principal name (a user of the tenant or another row of this file)."),
    # The admin center's template has these three as well; Graph takes them as they are.
    Column("office_location", "officeLocation", "Office", graph="officeLocation", aliases=("Office Number",)),
    Column("fax", "faxNumber", "Fax", graph="faxNumber", aliases=("Fax",)),
    Column("other_mails", "otherMails", "Alternate e-mail addresses", kind="list",
           aliases=("Alternate email address", "alternateEmail"),
           help="Addresses outside the tenant (password recovery), several separated by ';'."),
)  # fmt: skip

GUEST_COLUMNS: tuple[Column, ...] = (
    Column("display_name", "displayName", "Display name", graph="displayName", required=True,
           aliases=("Display Name", "invitedUserDisplayName", "name"), example="Megan Bowen"),
    Column("email", "email", "E-mail address", kind="email", required=True,
           aliases=("mail", "E-mail Address", "email address", "invitedUserEmailAddress"),
           example="megan@fabrikam.com"),
    Column("redirect_url", "redirectUrl", "Redirect URL", kind="url", defaultable=True,
           aliases=("redirectUri", "inviteRedirectUrl", "Redirect URL"),
           help="Where the guest lands after accepting. Blank: the file default (https://myapps.microsoft.com)."),
    Column("message", "message", "Invitation message", kind="longtext", defaultable=True,
           aliases=("Custom invite message", "customizedMessageBody", "invite message"),
           help="Added to the invitation e-mail. Blank: the file default."),
)  # fmt: skip

COLUMNS = {"users": USER_COLUMNS, "guests": GUEST_COLUMNS}
# Longest text accepted in any cell before the column rules look at it (a garbage file stays bounded).
MAX_CELL = 4000


def columns_for(kind: str) -> tuple[Column, ...]:
    return COLUMNS[kind]


def by_key(kind: str) -> dict[str, Column]:
    return {column.key: column for column in COLUMNS[kind]}


def template_header(kind: str) -> list[str]:
    return [column.header for column in COLUMNS[kind] if column.in_template]


@dataclass
class HeaderMatch:
    """Which file column feeds which import column."""

    positions: dict[int, str]  # file column index -> column key
    ignored: list[str]  # file headers that match no column (left out, reported)
    duplicates: list[str]  # file headers naming a column another header already named (left out)
    missing: list[Column]  # required columns with no header

    @property
    def usable(self) -> bool:
        return bool(self.positions) and not self.missing


def match_headers(kind: str, headers: list[str]) -> HeaderMatch:
    columns = COLUMNS[kind]
    positions: dict[int, str] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    for index, header in enumerate(headers):
        text = str(header or "").strip()
        if not text:
            continue
        column = next((c for c in columns if c.matches(text)), None)
        if column is None:
            ignored.append(text)
        elif column.key in positions.values():
            duplicates.append(text)
        else:
            positions[index] = column.key
    found = set(positions.values())
    missing = [c for c in columns if c.required and c.key not in found]
    return HeaderMatch(positions, ignored, duplicates, missing)


def split_list(text: str, *, commas: bool = False) -> list[str]:
    """ "a; b;;c " → ["a", "b", "c"], duplicates (any case) dropped. ``commas``: for address lists, a cell
    without ';' may use commas instead (product and group names can contain commas, addresses cannot)."""
    value = str(text or "")
    separator = "," if commas and LIST_SEPARATOR not in value and "," in value else LIST_SEPARATOR
    seen: dict[str, str] = {}
    for part in value.split(separator):
        item = part.strip()
        if item and item.casefold() not in seen:
            seen[item.casefold()] = item
    return list(seen.values())


TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on", "ja", "oui", "wahr"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "off", "nee", "non", "nein", "falsch"})


def parse_bool(text: str) -> bool | None:
    """True / False for the usual spellings (any case), None for blank; ValueError otherwise."""
    value = str(text or "").strip().casefold()
    if not value:
        return None
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(value)
