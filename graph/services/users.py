"""Reading a tenant's users page by page: full listings and delta (incremental) rounds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from graph.client import GraphClient

MAX_PAGE_SIZE = 999  # Graph's maximum $top for /users


def _select(select: Iterable[str] | str) -> str:
    return select if isinstance(select, str) else ",".join(select)


def iter_user_pages(
    client: GraphClient, select: Iterable[str] | str, page_size: int = MAX_PAGE_SIZE
) -> Iterator[list[dict]]:
    """Every user of the tenant, one page (list of dicts) at a time."""
    params = {"$select": _select(select), "$top": max(1, min(int(page_size), MAX_PAGE_SIZE))}
    yield from client.iter_pages("/users", params=params)


class DeltaPages:
    """Iterate to get pages of changed users; afterwards ``delta_link`` holds the link for the next round.

    Removed users arrive with ``"@removed": {"reason": "changed"|"deleted"}``. A delta link Graph no longer
    accepts raises graph.errors.GoneError (410) — start again without one (a full round)."""

    def __init__(self, client: GraphClient, delta_link: str | None, select: Iterable[str] | str) -> None:
        self._client = client
        self._delta_link = delta_link
        self._select = _select(select)
        self.delta_link: str | None = None

    def __iter__(self) -> Iterator[list[dict]]:
        if self._delta_link:
            pages = self._client.iter_raw_pages(self._delta_link)
        else:
            pages = self._client.iter_raw_pages("/users/delta", params={"$select": self._select})
        for page in pages:
            if page.get("@odata.deltaLink"):
                self.delta_link = page["@odata.deltaLink"]
            yield page.get("value") or []


def delta_pages(
    client: GraphClient, delta_link: str | None = None, select: Iterable[str] | str = ("id",)
) -> DeltaPages:
    """Pages of a delta round (first round: all users) plus, once iterated, ``.delta_link`` for the next."""
    return DeltaPages(client, delta_link, select)


# --- one user (the View user page) ---------------------------------------------------------------------

PROFILE_SELECT = (
    "id", "displayName", "userPrincipalName", "givenName", "surname", "mail", "jobTitle", "department",
    "companyName", "officeLocation", "streetAddress", "city", "state", "postalCode", "country", "usageLocation",
    "mobilePhone", "businessPhones", "proxyAddresses", "otherMails", "userType", "accountEnabled",
    "createdDateTime", "employeeId", "preferredLanguage", "lastPasswordChangeDateTime", "externalUserState",
    "onPremisesSyncEnabled", "onPremisesImmutableId", "onPremisesLastSyncDateTime",
    "onPremisesSamAccountName", "onPremisesDomainName", "onPremisesDistinguishedName",
    "assignedLicenses", "licenseAssignmentStates", "passwordPolicies",
)  # fmt: skip


def user_path(user_id: str, select: Iterable[str] | str = PROFILE_SELECT) -> str:
    return f"/users/{user_id}?$select={_select(select)}"


def get_user(client: GraphClient, user_id: str, select: Iterable[str] | str = PROFILE_SELECT) -> dict:
    """One user by object id or UPN (NotFoundError when Graph does not know it)."""
    return client.get(f"/users/{user_id}", params={"$select": _select(select)})
