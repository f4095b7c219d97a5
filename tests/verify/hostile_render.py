"""Hostile data for the render part: script/HTML and spreadsheet formulas written into every user attribute
the sandbox (standing in for Graph and Exchange) can hold, and the two judges — one for HTML (no element or
attribute may come from the data) and one for CSV/XLSX (no cell may be a live formula).

The payloads carry "xssmark" so a page that shows them (escaped, as text) can be told from a page that
does not show them at all: a check that never sees the payload proves nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

MARK = "<script>alert('xssmark')</script><img src=x onerror=alert(1)>\"'"
# The last three hide the formula after a list separator: a cell of its own once Excel splits the file on
# ";" or "," (the reader's locale decides, not the file).
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1", "=1+1", "\t=2+2",
            "a;=cmd|' /C calc'!A0", "x,+1", ";@SUM(1)"]  # fmt: skip
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a CSV with the list separator of the reader's locale: every download is judged both ways.
LIST_SEPARATORS = (",", ";")
SHORT_MARK = "<img src=x onerror=xssmark>\"'"  # for attributes Graph caps at 64 characters or fewer
# Graph's length limit of each attribute (longer values are cut by the sync, which would cut the payload).
ATTRIBUTES = {
    "displayName": 256,
    "givenName": 64,
    "surname": 64,
    "jobTitle": 128,
    "department": 64,
    "companyName": 64,
    "officeLocation": 128,
    "streetAddress": 1024,
    "city": 128,
    "state": 128,
    "country": 128,
    "postalCode": 40,
    "mobilePhone": 64,
    "employeeId": 16,
    "faxNumber": 64,
}  # fmt: skip  (not employeeType: the seed marks its compromise-demo user with it)


def payload(index: int, limit: int = 1024) -> str:
    """A formula opener (a different one per attribute) followed by the markup, within ``limit``."""
    formula = FORMULAS[index % len(FORMULAS)]
    for value in (f"{formula} {MARK}", f"{formula} {SHORT_MARK}", f"@{SHORT_MARK}", "@<i onx=xssmark>"):
        if len(value) <= limit:
            return value
    raise ValueError(limit)


def poison_sandbox_user(sandbox_user) -> None:
    """Every text attribute of the user, its phones and other mails, as Graph would return them."""
    properties = dict(sandbox_user.properties)
    for index, (name, limit) in enumerate(ATTRIBUTES.items()):
        properties[name] = payload(index, limit)
    properties["displayName"] = f'=HYPERLINK("http://x","y") {MARK}'
    properties["businessPhones"] = [payload(3)]
    properties["otherMails"] = ["<script>alert('xssmark')</script>@evil.example"]
    sandbox_user.properties = properties
    sandbox_user.display_name = properties["displayName"]
    sandbox_user.save(update_fields=["properties", "display_name"])


def poison_world(sandbox_user) -> dict:
    """The user plus what hangs off it: mailbox auto-reply, inbox rules, groups, OAuth grant apps and app
    role resources, sign-ins (location, app, device), directory audits. Returns what was touched."""
    from graph.sandbox.models import (
        SandboxGroup,
        SandboxInboxRule,
        SandboxMailbox,
        SandboxOAuth2PermissionGrant,
        SandboxServicePrincipal,
        SandboxSignIn,
    )

    poison_sandbox_user(sandbox_user)
    touched = {"user": 1}
    mailbox = SandboxMailbox.objects.filter(user=sandbox_user).first()
    if mailbox is not None:
        mailbox.auto_reply = {"AutoReplyState": "Enabled", "InternalMessage": MARK, "ExternalMessage": payload(0),
                              "ExternalAudience": "All", "StartTime": None, "EndTime": None}  # fmt: skip
        mailbox.save(update_fields=["auto_reply"])
        rules = list(SandboxInboxRule.objects.filter(mailbox=mailbox))
        for index, rule in enumerate(rules):
            rule.name = payload(index)
            rule.properties = {**rule.properties, "Description": MARK, "MoveToFolder": payload(index + 1)}
            rule.save(update_fields=["name", "properties"])
        touched["inbox_rules"] = len(rules)
    groups = list(SandboxGroup.objects.filter(memberships__user=sandbox_user))
    for index, group in enumerate(groups):
        group.display_name = payload(index)
        group.properties = {**group.properties, "displayName": group.display_name, "description": MARK}
        group.save(update_fields=["display_name", "properties"])
    touched["groups"] = len(groups)
    apps = set(
        SandboxOAuth2PermissionGrant.objects.filter(principal=sandbox_user).values_list(
            "client_id", flat=True
        )
    ) | set(sandbox_user.app_role_assignments.values_list("resource_id", flat=True))
    for index, app in enumerate(SandboxServicePrincipal.objects.filter(pk__in=apps)):
        app.display_name = payload(index)
        app.save(update_fields=["display_name"])
        detail = getattr(app, "detail", None)
        if detail is not None:
            detail.properties = {**detail.properties, "displayName": app.display_name, "publisherName": MARK}
            detail.save(update_fields=["properties"])
    touched["apps"] = len(apps)
    sign_ins = list(SandboxSignIn.objects.filter(user=sandbox_user))
    for index, sign_in in enumerate(sign_ins):
        props = dict(sign_in.properties)
        location = dict(props.get("location") or {})
        location.update(city=payload(index), state=MARK)
        props.update(location=location, appDisplayName=payload(index + 1), userDisplayName=payload(0))
        props["deviceDetail"] = {**(props.get("deviceDetail") or {}), "displayName": MARK}
        sign_in.properties = props
        sign_in.save(update_fields=["properties"])
    touched["sign_ins"] = len(sign_ins)
    return touched


# --- HTML -------------------------------------------------------------------------------------------------------


class _LiveMarkup(HTMLParser):
    """Elements and attributes that would run: a script that is not one of ours (a /static/ file, or a JSON
    data block, which browsers never execute), an event handler attribute, a javascript: URL, an <img src=x>
    (the payload's own element)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._in_script = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script":
            self._in_script = True
            src, kind = a.get("src", ""), a.get("type", "")
            if not src.startswith("/static/") and kind != "application/json":
                self.live.append(f"<script {attrs}>")
        for name, value in a.items():
            if name.startswith(("on", "hx-on")):
                self.live.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction", "hx-get", "hx-post") and value.strip().lower(
            ).startswith("javascript:"):  # fmt: skip
                self.live.append(f"<{tag} {name}={value[:40]}>")
        if tag == "img" and a.get("src") == "x":
            self.live.append("<img src=x>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and "xssmark" in data:
            self.live.append("xssmark inside a <script>")
        elif not self._in_script:
            self.text.append(data)


@dataclass
class RenderTally:
    pages: int = 0
    live: list = field(default_factory=list)
    showing: list = field(default_factory=list)  # pages where the payload was seen, as text
    cells: int = 0
    payload_cells: int = 0
    live_formulas: list = field(default_factory=list)

    def html(self, where: str, body: str) -> bool:
        """Judge one page; True when it shows the payload (as inert text)."""
        parser = _LiveMarkup()
        parser.feed(body)
        parser.close()
        self.pages += 1
        self.live += [f"{where}: {item}" for item in parser.live]
        shown = "xssmark" in "".join(parser.text)
        if shown:
            self.showing.append(where)
        return shown

    def csv(self, where: str, data: bytes) -> int:
        """Judge a CSV download as read with either list separator; returns how many of its cells (as
        written, i.e. split on ",") carry a payload."""
        text = data.decode("utf-8-sig", errors="replace")
        found = 0
        for separator in LIST_SEPARATORS:
            for row in csv.reader(io.StringIO(text), delimiter=separator):
                for value in row:
                    if separator == ",":
                        found += self._cell(where, value, formula=False)
                    elif value.startswith(FORMULA_TRIGGERS):
                        self.live_formulas.append(f"{where} (read with ';'): {value[:60]!r}")
        return found

    def xlsx(self, where: str, data: bytes) -> int:
        from openpyxl import load_workbook

        found = 0
        for sheet in load_workbook(io.BytesIO(data)).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.value is None:
                        continue
                    value = str(cell.value)
                    formula = cell.data_type == "f"
                    # Excel's own "typed with a leading apostrophe" flag: the cell is text, whatever it holds.
                    quoted = bool(getattr(cell, "quotePrefix", False))
                    found += self._cell(where, value, formula=formula, quoted=quoted)
        return found

    def _cell(self, where: str, value: str, *, formula: bool, quoted: bool = False) -> int:
        self.cells += 1
        risky = value.startswith(FORMULA_TRIGGERS) and not quoted
        if formula or risky:
            self.live_formulas.append(f"{where}: {value[:60]!r}")
        carries = "xssmark" in value or any(f.strip() in value for f in FORMULAS)
        self.payload_cells += carries
        return int(carries)
