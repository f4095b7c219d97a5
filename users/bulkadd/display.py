"""How a row reads in the preview: a handful of cells, each with the problems of the columns it shows, so
every problem sits next to the value it is about."""

from __future__ import annotations

from .columns import by_key

# cell -> the columns whose problems it shows (users); everything else goes to "details" with its label.
USER_CELLS = (
    ("name", "Name", ("display_name", "given_name", "surname")),
    ("upn", "User principal name", ("username", "domain")),
    ("password", "Password", ("password", "must_change_password")),
    ("licences", "Licences", ("licences", "usage_location")),
    ("groups", "Groups", ("groups",)),
)
GUEST_CELLS = (
    ("name", "Display name", ("display_name",)),
    ("email", "E-mail address", ("email",)),
    ("redirect", "Redirect URL", ("redirect_url",)),
    ("message", "Message", ("message",)),
)


def _problems(row, keys) -> list[str]:
    return [message for key in keys for message in (row.problems or {}).get(key, [])]


def _password(row) -> str:
    state = str(row.data.get("_password") or "")
    if state.startswith("refused"):
        return "Refused (see below)"
    return "From the file" if state == "given" else "Generated when the user is created"


def row_cells(kind: str, row) -> list[dict]:
    data, resolved = row.data or {}, row.resolved or {}
    columns = by_key(kind)
    if kind == "guests":
        values = {
            "name": (data.get("display_name") or "", ""),
            "email": (data.get("email") or "", "already a guest: invited again" if resolved.get("existing_guest") else ""),
            "redirect": (resolved.get("redirect_url") or data.get("redirect_url") or "", "" if data.get("redirect_url") else "default"),
            "message": (resolved.get("message") or "", "" if data.get("message") else "default" if resolved.get("message") else ""),
        }  # fmt: skip
        return [{"key": key, "label": label, "value": values[key][0], "sub": values[key][1],
                 "problems": _problems(row, keys)} for key, label, keys in GUEST_CELLS]  # fmt: skip
    upn = resolved.get("upn") or "@".join(p for p in (data.get("username"), data.get("domain")) if p)
    licences = ", ".join(resolved.get("licence_names") or []) or data.get("licences") or ""
    groups = ", ".join(g["name"] for g in resolved.get("groups") or []) or data.get("groups") or ""
    from_default = lambda key: not str(data.get(key) or "").strip() and bool(resolved.get(key))  # noqa: E731
    values = {
        "name": (resolved.get("display_name") or data.get("display_name") or "",
                 " ".join(p for p in (data.get("given_name"), data.get("surname")) if p)),
        "upn": (upn, ""),
        "password": (_password(row), "must change at next sign-in" if resolved.get("must_change") else ""),
        "licences": (licences, " · ".join(p for p in (
            "file default" if from_default("licences") else "",
            f"usage location {resolved['usage_location']}" if resolved.get("usage_location") else "") if p)),
        "groups": (groups, "file default" if from_default("groups") else ""),
    }  # fmt: skip
    cells = [{"key": key, "label": label, "value": values[key][0], "sub": values[key][1],
              "problems": _problems(row, keys)} for key, label, keys in USER_CELLS]  # fmt: skip
    shown = {k for _, _, keys in USER_CELLS for k in keys}
    details, problems = [], []
    for key, column in columns.items():
        if key in shown or column.kind == "password":
            continue
        if data.get(key):
            details.append(f"{column.label}: {data[key]}")
        problems += [f"{column.label}: {message}" for message in (row.problems or {}).get(key, [])]
    problems += (row.problems or {}).get("_row", [])
    cells.append(
        {
            "key": "details",
            "label": "Other details",
            "value": " · ".join(details),
            "sub": "",
            "problems": problems,
        }
    )
    return cells
