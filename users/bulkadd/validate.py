"""Checking every row of an import before anything is sent, and working out what each row will create.

``validate_import`` is the one entry point (upload, fixes in place, new defaults, "Check again", and once
more right before the run). It writes, per row, ``problems`` ({column key: [messages]}, shown next to the
field in the preview) and ``resolved`` (the UPN, licence and group ids, usage location... that the runner
sends as they are), and the file-wide ``BulkImport.problems`` (e.g. not enough licence units). A row with
problems, or any file-wide problem, blocks the run until fixed or left out.

Per row (users): required fields, Graph's lengths (``users.provisioning.rules``), the username pattern,
a domain the tenant has verified, a valid usage location (needed for licences), known licences and
groups that can take members from here, valid aliases, other addresses and manager. Across the file:
UPNs and aliases unique within the file; every UPN and alias free in the tenant — the directory cache
and Graph, through ``users.provisioning.availability.address_problems``; managers that exist (in the tenant
or as another row); enough free units of each licence for all the rows that get it.
File-wide defaults (licences, usage location, groups, must-change) fill blank cells; ``none`` (or ``-``)
in a licences or groups cell means "none for this row" even when the file has a default.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from graph.client import GraphClient
from users.models import BulkImport, BulkImportRow
from users.provisioning import rules
from users.provisioning.availability import AvailabilityUnchecked, address_problems

from . import facts as facts_mod
from .columns import by_key, parse_bool, split_list

logger = logging.getLogger(__name__)

ROW = "_row"
NONE_WORDS = frozenset({"none", "-", "no", "(none)"})
AVAILABILITY_TTL_SECONDS = 30 * 60
ADDRESS_CHUNK = 50  # addresses per availability call (its cache query is one OR chain)
PASSWORD_REFUSED = "refused:"
EXCHANGE_ONLY = (
    "{name} is a {kind} group: Exchange manages its members, and Exchange only knows a new user once their "
    "mailbox exists (minutes to hours after creation). Add them with Add to group once the mailboxes appear."
)


def client_for(tenant) -> GraphClient:
    return GraphClient.for_tenant(tenant)


# --- one row (users) -------------------------------------------------------------------------------------


class RowCheck:
    """The problems of one row and what it resolves to."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}
        self.resolved: dict = {}

    def add(self, key: str, message: str) -> None:
        self.problems.setdefault(key, [])
        if message not in self.problems[key]:
            self.problems[key].append(message)


def _list_cell(
    data: dict, key: str, defaults: dict, default_key: str | None = None
) -> tuple[list[str], bool]:
    """(items, from_default) of a list column: the cell, else the file default ("none" = empty)."""
    text = str(data.get(key) or "").strip()
    if text.casefold() in NONE_WORDS:
        return [], False
    if text:
        return split_list(text), False
    return list(defaults.get(default_key or key) or []), True


def check_user_row(data: dict, defaults: dict, facts: facts_mod.Facts) -> RowCheck:
    check = RowCheck()
    columns = by_key("users")
    for key, column in columns.items():
        value = str(data.get(key) or "")
        if column.graph and column.kind == "text":
            problem = rules.length_problem(column.graph, value)
            if problem:
                check.add(key, problem)
    given, surname = str(data.get("given_name") or "").strip(), str(data.get("surname") or "").strip()
    display = str(data.get("display_name") or "").strip() or " ".join(p for p in (given, surname) if p)
    if not display:
        check.add("display_name", "Enter a display name (or a first and last name).")

    username, domain = _username_and_domain(data, facts, check)
    upn = f"{username}@{domain}".lower() if username and domain else ""

    password_state = str(data.get("_password") or "")
    if password_state.startswith(PASSWORD_REFUSED):
        check.add("password", password_state[len(PASSWORD_REFUSED) :].strip() + " Type a new one, or clear it to "
                  "have one generated.")  # fmt: skip

    must_change = defaults.get("must_change", False)
    try:
        cell = parse_bool(data.get("must_change_password") or "")
        must_change = bool(defaults.get("must_change", False)) if cell is None else cell
    except ValueError:
        check.add("must_change_password", "Write true or false (yes / no, 1 / 0).")

    licences = _licences(data, defaults, facts, check)
    usage = _usage_location(data, defaults, facts, check, needed=bool(licences))
    groups = _groups(data, defaults, facts, check)
    aliases = _aliases(data, domain or facts.default_domain, facts, check, upn)
    other_mails = []
    for address in split_list(data.get("other_mails") or "", commas=True):
        if rules.split_address(address) is None:
            check.add("other_mails", f"“{address}” is not an e-mail address.")
        else:
            other_mails.append(address)
    manager = str(data.get("manager") or "").strip()
    if manager and rules.split_address(manager) is None:
        check.add("manager", "Write the manager's user principal name (name@domain).")
        manager = ""
    check.resolved = {
        "upn": upn, "username": username, "domain": domain, "display_name": display,
        "must_change": bool(must_change), "usage_location": usage, "licences": [s.sku_id for s in licences],
        "licence_names": [s.name for s in licences], "groups": groups, "aliases": aliases,
        "other_mails": other_mails, "manager": manager.lower(),
    }  # fmt: skip
    return check


def _username_and_domain(data: dict, facts, check: RowCheck) -> tuple[str, str]:
    username = str(data.get("username") or "").strip()
    domain = str(data.get("domain") or "").strip().lower()
    if "@" in username:  # the admin center's "User Name" is the whole UPN
        username, _, given_domain = username.rpartition("@")
        given_domain = given_domain.lower()
        if domain and domain != given_domain:
            check.add("domain", f"The username says @{given_domain} but the domain column says {domain}.")
        domain = domain or given_domain
    problem = rules.username_problem(username)
    if problem:
        check.add("username", problem)
    domain = domain or facts.default_domain
    if not domain:
        check.add("domain", "Enter a domain: the tenant's verified domains are not known yet.")
    elif facts.domains and domain not in facts.domains:
        check.add(
            "domain", f"{domain} is not a verified domain of this tenant ({', '.join(facts.domains[:6])})."
        )
    return (username if not problem else ""), domain


def _licences(data: dict, defaults: dict, facts, check: RowCheck) -> list[facts_mod.Sku]:
    names, from_default = _list_cell(data, "licences", defaults)
    found = []
    for name in names:
        sku = facts.skus.get(str(name).lower()) if from_default else facts.sku_named(name)
        if sku is None:
            known = ", ".join(s.name for s in facts.skus.values() if s.enabled)[:300] or "none"
            check.add("licences", f"Unknown licence “{name}”. This tenant has: {known}.")
        elif not sku.enabled:
            check.add("licences", f"{sku.name} is suspended or expired in this tenant.")
        elif sku not in found:
            found.append(sku)
    return found


def _usage_location(data: dict, defaults: dict, facts, check: RowCheck, *, needed: bool) -> str:
    text = str(data.get("usage_location") or "").strip()
    if text:
        code = rules.country_code(text)
        if code is None:
            check.add(
                "usage_location", f"“{text}” is not a country: use a two-letter ISO code such as GB or US."
            )
        return code or ""
    code = str(defaults.get("usage_location") or "").upper() or facts.country
    if needed and not code:
        check.add(
            "usage_location",
            "A usage location is needed to assign licences: fill it in or set a file default.",
        )
    return code


def _groups(data: dict, defaults: dict, facts, check: RowCheck) -> list[dict]:
    names, _ = _list_cell(data, "groups", defaults)
    chosen: list[dict] = []
    for name in names:
        matches = facts.groups_named(name)
        if not matches:
            check.add("groups", f"No group called “{name}” in this tenant.")
            continue
        if len(matches) > 1:
            check.add(
                "groups", f"{len(matches)} groups are called “{name}”: write the one you mean by its id."
            )
            continue
        group = matches[0]
        if group.get("why_not"):
            check.add("groups", f"{group['name']} cannot take members from here: {group['why_not']}.")
        elif group.get("via") != "graph":
            check.add("groups", EXCHANGE_ONLY.format(name=group["name"], kind=group.get("kind", "").lower()))
        elif group["id"] not in {g["id"] for g in chosen}:
            chosen.append({"id": group["id"], "name": group["name"], "kind": group.get("kind", "")})
    return chosen


def _aliases(data: dict, domain: str, facts, check: RowCheck, upn: str) -> list[str]:
    out: list[str] = []
    for line in split_list(data.get("aliases") or "", commas=True):
        candidate = line if "@" in line else f"{line}@{domain}"
        parts = rules.split_address(candidate)
        if parts is None:
            check.add("aliases", f"“{line}” is not an e-mail address.")
            continue
        local, alias_domain = parts
        problem = rules.username_problem(local)
        if problem:
            check.add("aliases", f"“{line}”: {problem}")
        elif facts.domains and alias_domain not in facts.domains:
            check.add("aliases", f"“{line}”: {alias_domain} is not a verified domain of this tenant.")
        elif f"{local}@{alias_domain}".lower() != upn and f"{local}@{alias_domain}".lower() not in out:
            out.append(f"{local}@{alias_domain}".lower())
    return out


# --- the whole file ----------------------------------------------------------------------------------------


def _check_chunk(tenant, chunk: list[str], client) -> tuple[dict[str, str], str]:
    """One availability call: ({address: reason or ""}, problem text when Graph could not be asked)."""
    try:
        found = address_problems(tenant, chunk, graph=client)
    except AvailabilityUnchecked as error:
        return dict(error.partial), error.message or error.code or "Graph did not answer"
    finally:
        if threading.current_thread() is not threading.main_thread():
            connections.close_all()  # the cache look-up ran on this thread's own connection
    return {address: found.get(address, "") for address in chunk}, ""


def _availability(
    bulk_import: BulkImport, addresses: list[str], client, *, refresh: bool
) -> tuple[dict, str]:
    """({address: reason}, problem text when Graph could not be asked). Answers are cached per import.
    Chunks are checked several at a time (as many as the runner keeps batches in flight): a 10,000-row file
    is some 400 look-up requests."""
    from .runner import concurrency

    key = f"bulkadd:avail:{bulk_import.pk}"
    known: dict[str, str] = {} if refresh else (cache.get(key) or {})
    wanted = [a for a in dict.fromkeys(addresses) if a and a not in known]
    chunks = [wanted[i : i + ADDRESS_CHUNK] for i in range(0, len(wanted), ADDRESS_CHUNK)]
    workers = min(concurrency(), len(chunks))
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="bulkadd-check") as pool:
            answers = list(pool.map(lambda chunk: _check_chunk(bulk_import.tenant, chunk, client), chunks))
    else:
        answers = [_check_chunk(bulk_import.tenant, chunk, client) for chunk in chunks]
    unchecked = ""
    for found, problem in answers:
        known.update(found)
        unchecked = unchecked or problem
    cache.set(key, known, AVAILABILITY_TTL_SECONDS)
    return known, unchecked


def forget_availability(bulk_import: BulkImport) -> None:
    cache.delete(f"bulkadd:avail:{bulk_import.pk}")


def load_or_cached_facts(bulk_import: BulkImport, client, rows, *, refresh: bool) -> facts_mod.Facts:
    facts = None if refresh else facts_mod.cached_facts(bulk_import.tenant)
    if facts is None:
        names = [n for row in rows for n in split_list(row.data.get("groups") or "")]
        facts = facts_mod.load_facts(bulk_import.tenant, client, group_names=names)
        facts_mod.remember(bulk_import.tenant, facts)
    return facts


def validate_import(bulk_import: BulkImport, *, client: GraphClient | None = None, refresh: bool = False,
                    fresh_facts: bool = False) -> dict:  # fmt: skip
    """Check every row (see the module doc); returns a summary {rows, with_problems, file_problems}.
    ``refresh``: read the tenant's facts and every address's availability from Graph again; ``fresh_facts``:
    the facts only (licence units right before the run)."""
    from .guests import check_guest_rows

    client = client or client_for(bulk_import.tenant)
    rows = list(bulk_import.rows.exclude(status=BulkImportRow.Status.LEFT_OUT).order_by("position"))
    facts = load_or_cached_facts(bulk_import, client, rows, refresh=refresh or fresh_facts)
    if bulk_import.kind == BulkImport.Kind.GUESTS:
        checks, file_problems = check_guest_rows(bulk_import, rows, facts, client, refresh=refresh)
    else:
        checks, file_problems = _check_user_rows(bulk_import, rows, facts, client, refresh=refresh)
    changed = []
    for row in rows:
        check = checks[row.pk]
        upn = check.resolved.get("upn", "")
        if (row.problems, row.resolved, row.upn) != (check.problems, check.resolved, upn):
            row.problems, row.resolved, row.upn = check.problems, check.resolved, upn
            changed.append(row)
    BulkImportRow.objects.bulk_update(changed, ["problems", "resolved", "upn"], batch_size=500)
    bulk_import.problems = list(file_problems)
    bulk_import.check_notes = list(facts.notes)
    bulk_import.validated_at = timezone.now()
    bulk_import.save(update_fields=["problems", "check_notes", "validated_at", "updated_at"])
    return {
        "rows": len(rows),
        "with_problems": sum(1 for r in rows if r.problems),
        "file_problems": file_problems,
    }


def _check_user_rows(bulk_import, rows, facts, client, *, refresh: bool):
    defaults = bulk_import.defaults or {}
    checks = {row.pk: check_user_row(row.data, defaults, facts) for row in rows}
    by_upn: dict[str, list[BulkImportRow]] = defaultdict(list)
    alias_rows: dict[str, list[BulkImportRow]] = defaultdict(list)
    for row in rows:
        resolved = checks[row.pk].resolved
        if resolved["upn"]:
            by_upn[resolved["upn"]].append(row)
        for alias in resolved["aliases"]:
            alias_rows[alias].append(row)
    for upn, same in by_upn.items():
        if len(same) > 1:
            for row in same:
                others = ", ".join(str(o.position) for o in same if o.pk != row.pk)
                checks[row.pk].add("username", f"{upn} is also on row(s) {others} of this file.")
    for alias, owners in alias_rows.items():
        clash = [r for r in owners] + by_upn.get(alias, [])
        if len({r.pk for r in clash}) > 1:
            for row in owners:
                others = ", ".join(sorted({str(o.position) for o in clash if o.pk != row.pk}))
                checks[row.pk].add("aliases", f"{alias} is also used on row(s) {others} of this file.")
    file_problems: list[str] = []
    # A UPN on a domain the tenant does not own already has its problem: no need to ask who holds it.
    addresses = [a for a in [*by_upn, *alias_rows] if not facts.domains or a.split("@")[1] in facts.domains]
    taken, unchecked = _availability(bulk_import, addresses, client, refresh=refresh)
    if unchecked:
        file_problems.append(
            f"The addresses could not all be checked with Microsoft ({unchecked}). Check again."
        )
    for row in rows:
        resolved = checks[row.pk].resolved
        if resolved["upn"] and taken.get(resolved["upn"]):
            checks[row.pk].add("username", f"{resolved['upn']} is taken: {taken[resolved['upn']]}.")
        for alias in resolved["aliases"]:
            if taken.get(alias):
                checks[row.pk].add("aliases", f"{alias} is taken: {taken[alias]}.")
    _check_managers(bulk_import, rows, checks, by_upn, facts, client)
    file_problems += _units(rows, checks, facts)
    return checks, file_problems


def _check_managers(bulk_import, rows, checks, by_upn, facts, client) -> None:
    wanted = [checks[r.pk].resolved["manager"] for r in rows if checks[r.pk].resolved["manager"]]
    outside = [m for m in wanted if m not in by_upn]
    try:
        facts_mod.resolve_managers(bulk_import.tenant, client, facts, outside)
    except Exception as error:  # noqa: BLE001 - reported on the rows; the preview must still render
        logger.info("managers could not be looked up: %s", type(error).__name__)
    for row in rows:
        check = checks[row.pk]
        manager = check.resolved["manager"]
        if not manager:
            continue
        if manager == check.resolved["upn"]:
            check.add("manager", "A user cannot be their own manager.")
        elif manager in by_upn:
            check.resolved["manager_row"] = by_upn[manager][0].key
        elif manager not in facts.managers:
            check.add("manager", f"{manager} could not be looked up in Microsoft; check again.")
        elif not facts.managers[manager]:
            check.add("manager", f"No user {manager} in this tenant (nor on another row of this file).")
        else:
            check.resolved["manager_id"] = facts.managers[manager]["id"]


def _units(rows, checks, facts) -> list[str]:
    needed = Counter(sku for row in rows for sku in checks[row.pk].resolved["licences"])
    problems = []
    for sku_id, count in needed.items():
        sku = facts.skus.get(sku_id)
        if sku is not None and count > sku.available:
            problems.append(
                f"Not enough {sku.name} licences: {count:,} row(s) get one, {sku.available:,} are free. Remove it "
                "from some rows (or from the file default), leave rows out, or buy more first."
            )
    return problems


def password_state_refused(reason: str) -> str:
    return f"{PASSWORD_REFUSED} {reason}"


def blocking(bulk_import: BulkImport) -> tuple[int, list[str]]:
    """(rows with problems, file problems) that stop a run now."""
    count = bulk_import.rows.exclude(status=BulkImportRow.Status.LEFT_OUT).exclude(problems={}).count()
    return count, list(bulk_import.problems or [])
