"""Hostile values (Hypothesis strategies), a form scanner that finds the real field names of a page, and the
judge of a response: a 5xx is a server error, and a rejection (a 4xx, or a page whose bound form is
invalid) must say why in what the technician sees.

Every request runs inside a savepoint that is rolled back afterwards, so a fuzzed POST that happens to be
valid (disable a tenant, delete a group, run an action) cannot change the world the next example sees, and
a database error in one request cannot poison the test transaction."""

from __future__ import annotations

import html
import io
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.db import transaction
from django.test import Client
from hypothesis import strategies as st

# --- hostile values --------------------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "' OR 1=1 --",
    '"; DROP TABLE users_directoryuser; --', "{{7*7}}", "{% debug %}", "${7*7}", "%00", "%25%30%30", "%zz",
    "../../../../etc/passwd", "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1",
    "\x00", "a\x00b", "\r\n\r\nX-Injected: 1", "\ufeff", "\u202egnp.exe", "𝕳𝖔𝖘𝖙𝖎𝖑𝖊", "ÄÖÜ ß 漢字 ٣",
    "null", "None", "undefined", "true", "[]", "{}", "__proto__", "*", "?", "#", "&", "=", " ", "",
]  # fmt: skip
NUMBERS = [
    "-1", "0", "1", "2147483648", "9223372036854775808", "99999999999999999999999999", "-9223372036854775809",
    "1e309", "-1e309", "NaN", "inf", "0x1F", "1.5", "٣", "+1", "00000000001",
]  # fmt: skip
_CHARS = st.characters(blacklist_categories=("Cs",))  # lone surrogates cannot be sent as UTF-8 at all

hostile_text = st.one_of(
    st.sampled_from(PAYLOADS + NUMBERS),
    st.text(_CHARS, max_size=30),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["A", "é", "<", "%", "0"]), st.sampled_from([300, 5000, 120_000])
    ),
    st.binary(max_size=24).map(lambda b: b.decode("latin-1")),
    st.uuids().map(str),
)
hostile_value = st.one_of(hostile_text, st.lists(hostile_text, min_size=2, max_size=4))
hostile_key = st.one_of(
    st.sampled_from(["page", "q", "sort", "order", "tenant", "user", "id", "columns", "per_page", "next",
                     "format", "show", "filter", "query", "confirmed", "section", "kind", "window_days"]),
    st.text(_CHARS, min_size=1, max_size=12),
)  # fmt: skip
# Path arguments: values that match the converter (so the view sees them) and values that do not.
PATH_VALUES = {
    "int": ["0", "9223372036854775808", "99999999999999999999999999"],
    "uuid": ["00000000-0000-0000-0000-000000000000", "not-a-uuid"],
    "slug": ["-", "a" * 300, "__proto__"],
    "str": ["%00", "%3Cscript%3E", "..", "a" * 2000, "Ωmega.example", "%C0%AF"],
}


# --- what a page offers: forms, fields, htmx targets -------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict = field(default_factory=dict)  # name -> [values seen: value=, options, checked]


class FormScanner(HTMLParser):
    """Every form of a page with its fields, plus fields outside any form and htmx POST targets (which send
    the page's fields: hx-include / the enclosing form)."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self.loose = Form(page_path, "get")
        self.hx_posts: list[str] = []
        self._form: Form | None = None
        self._select: tuple[Form, str] | None = None

    def _path(self, action: str) -> str:
        return urlsplit(action).path or self.page_path

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if a.get("hx-post"):
            self.hx_posts.append(self._path(a["hx-post"]))
        if tag == "form":
            self._form = Form(self._path(a.get("action", "")), (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea", "button") and a.get("name"):
            form = self._form or self.loose
            values = form.fields.setdefault(a["name"], [])
            if "value" in a and a["value"] not in values:
                values.append(a["value"])
            if tag == "select":
                self._select = (form, a["name"])
        elif tag == "option" and self._select and "value" in a:
            form, name = self._select
            form.fields[name].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def scan(page_path: str, body: str) -> FormScanner:
    scanner = FormScanner(page_path)
    scanner.feed(body)
    scanner.close()
    return scanner


@st.composite
def form_body(draw, fields: dict) -> dict:
    """The real field names, each left out, given a value the page offered, or given a hostile value; plus
    a couple of keys the form does not know."""
    data = {}
    for name, offered in sorted(fields.items()):
        how = draw(st.integers(0, 3))
        if how == 0:
            continue
        if how == 1 and offered:
            data[name] = draw(st.sampled_from(offered))
        else:
            data[name] = draw(hostile_value)
    data.update(draw(st.dictionaries(hostile_key, hostile_value, max_size=2)))
    return data


# --- judging a response --------------------------------------------------------------------------------------


class _Text(HTMLParser):
    """The text a person sees (not scripts, styles or attribute values)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(body: str) -> str:
    parser = _Text()
    parser.feed(body)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _bound_forms(response) -> list:
    from django.forms import BaseForm
    from django.forms.formsets import BaseFormSet

    found, contexts = [], response.context or []
    for context in contexts if isinstance(contexts, list) else [contexts]:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if isinstance(value, BaseForm | BaseFormSet) and value.is_bound and value not in found:
                found.append(value)
    return found


def _error_messages(form) -> list[str]:
    from django.forms.formsets import BaseFormSet

    if isinstance(form, BaseFormSet):
        messages = [str(m) for m in form.non_form_errors()]
        for sub in form.forms:
            messages += _error_messages(sub)
        return messages
    return [str(m) for errors in form.errors.values() for m in errors]


@dataclass
class Tally:
    requests: int = 0
    server_errors: list = field(default_factory=list)
    unexplained: list = field(default_factory=list)
    rejections: int = 0
    by_status: dict = field(default_factory=dict)

    def judge(self, method: str, url: str, response, body: str, exc: str = "") -> None:
        self.requests += 1
        status = response.status_code if response is not None else 500
        self.by_status[status] = self.by_status.get(status, 0) + 1
        where = f"{method} {url[:160]}"
        if status >= 500 or exc:
            self.server_errors.append(f"{where}: {status} {exc}".strip())
            return
        if 400 <= status < 500 and status != 405:  # 405 names the allowed methods in its Allow header
            self.rejections += 1
            if len(visible_text(body) if "html" in response.get("Content-Type", "") else body.strip()) < 4:
                self.unexplained.append(f"{where}: {status} with no message")
                return
        for form in _bound_forms(response):
            messages = _error_messages(form)
            if not messages:
                continue
            self.rejections += 1
            shown = [m for m in messages if html.escape(m) in body or m in body]
            if not shown:
                self.unexplained.append(
                    f"{where}: {status} invalid {type(form).__name__}, shown none of {messages[:3]}"
                )


class FuzzClient:
    """A logged-in test client whose every request is judged and rolled back."""

    def __init__(self, user, tally: Tally) -> None:
        self.client = _RecordingClient(raise_request_exception=False)
        self.client.force_login(user)
        self.tally = tally

    def send(self, method: str, url: str, **kwargs):
        sid = transaction.savepoint()
        exc = ""
        try:
            response = getattr(self.client, method.lower())(url, **kwargs)
            exc = getattr(response, "exc_text", "")
            body = _read(response)
        except Exception:  # noqa: BLE001 - a streamed body that fails half-way is a server error too
            response, body, exc = None, "", traceback.format_exc(limit=-3)
        finally:
            transaction.savepoint_rollback(sid)
        self.tally.judge(method.upper(), url, response, body, exc)
        return response, body


class _RecordingClient(Client):
    """Keeps the exception behind a 500 (the plain client drops it when not raising)."""

    def check_exception(self, response):
        if self.exc_info:
            response.exc_text = "".join(traceback.format_exception(*self.exc_info)[-4:])
        return super().check_exception(response)


def _read(response) -> str:
    if getattr(response, "streaming", False):
        data = b"".join(response.streaming_content)
    else:
        data = response.content
    return data.decode("utf-8", errors="replace")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([_xlsx_safe(c) for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_safe(value: str) -> str:
    # openpyxl refuses control characters it cannot store; a workbook that holds them cannot exist.
    return "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)[:32000]
