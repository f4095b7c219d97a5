"""OData query options as Graph's directory endpoints understand them, compiled to Django ORM queries.

``$filter`` is parsed into a small syntax tree (``parse_filter``) and compiled against an
:class:`~graph.sandbox.odata_fields.EntitySpec` that says which columns and JSON keys back each Graph
property. ``parse_list_query`` reads every option of a collection request and enforces Graph's
"advanced query" rule: ``$search``, ``$count``, ``ne``/``not``/``endsWith``, ``/$count`` lambdas and
``$filter`` + ``$orderby`` need ``ConsistencyLevel: eventual`` (and ``$count=true`` for the filter ones).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.http import HttpRequest

from .errors import GraphProblem, bad_request, unsupported_query
from .odata_fields import EntitySpec

ADVANCED_DOCS = "Refer to https://aka.ms/graph-docs/advanced-queries for more information"

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>\$?[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[(),:/])
    """,
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith"}


@dataclass(frozen=True)
class Literal:
    kind: str  # string, guid, datetime, number, bool, null
    value: object


@dataclass(frozen=True)
class Node:
    op: str  # and, or, not, cmp, in, func, any, count
    args: tuple


class FilterSyntaxError(Exception):
    pass


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match:
                raise FilterSyntaxError(f"Syntax error at position {pos} in '{text}'.")
            kind = match.lastgroup
            if kind != "ws":
                self.tokens.append((kind, match.group(), pos))
            pos = match.end()
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        i = self.index + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise FilterSyntaxError(f"Syntax error at position {len(self.text)} in '{self.text}'.")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1].lower() != value:
            raise FilterSyntaxError(f"Syntax error at position {token[2]} in '{self.text}'.")

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "ident" and token[1].lower() == word

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise FilterSyntaxError(f"Syntax error at position {self.peek()[2]} in '{self.text}'.")
        return node

    def expr(self) -> Node:
        node = self.conjunction()
        while self.at_keyword("or"):
            self.take()
            node = Node("or", (node, self.conjunction()))
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.at_keyword("and"):
            self.take()
            node = Node("and", (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.at_keyword("not"):
            self.take()
            return Node("not", (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise FilterSyntaxError(f"Syntax error at position {len(self.text)} in '{self.text}'.")
        if token[1] == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if token[0] == "ident" and token[1].lower() in _FUNCTIONS and (self.peek(1) or ("", "", 0))[1] == "(":
            name = self.take()[1].lower()
            self.expect("(")
            path = self.path()
            self.expect(",")
            literal = self.literal()
            self.expect(")")
            return Node("func", (name, path, literal))
        path = self.path()
        if isinstance(path, Node):  # any(...) lambda, already boolean
            return path
        if path[-1] == "$count":
            op = self.take()[1].lower()
            if op not in _COMPARISONS:
                raise FilterSyntaxError(f"Syntax error at position {token[2]} in '{self.text}'.")
            return Node("count", (path[:-1], op, self.literal()))
        op_token = self.take()
        op = op_token[1].lower()
        if op == "in":
            self.expect("(")
            values = [self.literal()]
            while self.peek() is not None and self.peek()[1] == ",":
                self.take()
                values.append(self.literal())
            self.expect(")")
            return Node("in", (path, tuple(values)))
        if op not in _COMPARISONS:
            raise FilterSyntaxError(f"Syntax error at position {op_token[2]} in '{self.text}'.")
        return Node("cmp", (op, path, self.literal()))

    def path(self):
        token = self.take()
        if token[0] != "ident":
            raise FilterSyntaxError(f"Syntax error at position {token[2]} in '{self.text}'.")
        parts = [token[1]]
        while self.peek() is not None and self.peek()[1] == "/":
            self.take()
            nxt = self.take()
            if nxt[0] != "ident":
                raise FilterSyntaxError(f"Syntax error at position {nxt[2]} in '{self.text}'.")
            if nxt[1].lower() in {"any", "all"}:
                if nxt[1].lower() == "all":
                    raise FilterSyntaxError("The 'all' lambda operator is not supported.")
                self.expect("(")
                var = self.take()
                if var[0] != "ident":
                    raise FilterSyntaxError(f"Syntax error at position {var[2]} in '{self.text}'.")
                self.expect(":")
                inner = self.expr()
                self.expect(")")
                return Node("any", (tuple(parts), var[1], inner))
            parts.append(nxt[1])
        return tuple(parts)

    def literal(self) -> Literal:
        kind, text, pos = self.take()
        if kind == "string":
            return Literal("string", text[1:-1].replace("''", "'"))
        if kind == "guid":
            return Literal("guid", text.lower())
        if kind == "datetime":
            return Literal("datetime", datetime.fromisoformat(text.replace("Z", "+00:00")))
        if kind == "number":
            return Literal("number", float(text) if "." in text else int(text))
        if kind == "ident" and text.lower() in {"true", "false"}:
            return Literal("bool", text.lower() == "true")
        if kind == "ident" and text.lower() == "null":
            return Literal("null", None)
        raise FilterSyntaxError(f"Syntax error at position {pos} in '{self.text}'.")


def parse_filter(text: str) -> Node:
    try:
        return _Parser(text).parse()
    except FilterSyntaxError as exc:
        raise bad_request(f"Invalid filter clause: {exc}", code="BadRequest") from None


# --- compiling ------------------------------------------------------------------------------------------


@dataclass
class Compiled:
    q: Q
    advanced: list[str] = field(default_factory=list)  # operators that need ConsistencyLevel: eventual


def compile_filter(node: Node, spec: EntitySpec) -> Compiled:
    advanced: list[str] = []
    return Compiled(_compile(node, spec, advanced), advanced)


def _compile(node: Node, spec: EntitySpec, advanced: list[str]) -> Q:
    if node.op == "and":
        return _compile(node.args[0], spec, advanced) & _compile(node.args[1], spec, advanced)
    if node.op == "or":
        return _compile(node.args[0], spec, advanced) | _compile(node.args[1], spec, advanced)
    if node.op == "not":
        advanced.append("not")
        return ~_compile(node.args[0], spec, advanced)
    if node.op == "cmp":
        op, path, literal = node.args
        fld = spec.field_for(path)
        if op == "ne":
            advanced.append("ne")
            return ~fld.compare("eq", literal)
        return fld.compare(op, literal)
    if node.op == "in":
        path, literals = node.args
        fld = spec.field_for(path)
        query = Q(pk__in=[])
        for literal in literals:
            query |= fld.compare("eq", literal)
        return query
    if node.op == "func":
        name, path, literal = node.args
        if isinstance(path, Node):
            raise unsupported_query("Unsupported or invalid query filter clause specified.")
        if name == "endswith":
            advanced.append("endsWith")
        return spec.field_for(path).function(name, literal)
    if node.op == "any":
        path, var, inner = node.args
        return spec.collection_for(path).any(var, inner)
    if node.op == "count":
        path, op, literal = node.args
        advanced.append("$count")
        return spec.collection_for(path).count(op, literal)
    raise unsupported_query("Unsupported Query.")


# --- the whole query string -----------------------------------------------------------------------------


@dataclass
class ListQuery:
    select: list[str] | None = None
    filter_text: str = ""
    filter_q: Q = field(default_factory=Q)
    search_q: Q | None = None
    orderby: tuple[str, bool] | None = None  # (graph property, descending)
    top: int | None = None
    count: bool = False
    eventual: bool = False

    def fingerprint(self, path: str) -> str:
        """Binds a $skiptoken to the query it was issued for."""
        parts = [
            path,
            ",".join(self.select or []),
            self.filter_text,
            str(self.search_q),
            str(self.orderby),
            str(self.count),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def parse_select(raw: str | None, spec: EntitySpec) -> list[str] | None:
    if raw is None or not raw.strip():
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    for name in names:
        if name not in spec.selectable:
            raise bad_request(
                f"Parsing OData Select and Expand failed: Could not find a property named '{name}' on type "
                f"'{spec.graph_type}'.",
                code="BadRequest",
            )
    # Graph always returns the key, even when $select leaves it out.
    return names if "id" in names else ["id", *names]


def parse_top(raw: str | None, maximum: int) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} inclusive."
        ) from None
    if not 1 <= value <= maximum:
        raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} inclusive.")
    return value


def parse_orderby(raw: str | None, spec: EntitySpec) -> tuple[str, bool] | None:
    if raw is None or not raw.strip():
        return None
    clauses = [c.strip() for c in raw.split(",") if c.strip()]
    if len(clauses) != 1:
        raise unsupported_query("Sorting by more than one property is not supported.")
    words = clauses[0].split()
    if len(words) > 2 or (len(words) == 2 and words[1].lower() not in {"asc", "desc"}):
        raise bad_request(f"Invalid $orderby clause '{raw}'.", code="BadRequest")
    name = words[0]
    if name not in spec.selectable:
        raise bad_request(
            f"Could not find a property named '{name}' on type '{spec.graph_type}'.", code="BadRequest"
        )
    if name not in spec.sortable:
        raise unsupported_query(f"Sorting not supported for the '{name}' property.")
    return name, len(words) == 2 and words[1].lower() == "desc"


_SEARCH_CLAUSE = re.compile(r'\s*"([^"]*)"\s*')


def parse_search(raw: str, spec: EntitySpec) -> Q:
    """``"displayName:adele" OR "mail:adele"`` with AND binding tighter than OR; word-prefix matching."""
    pos, terms, ops = 0, [], []
    while pos < len(raw):
        match = _SEARCH_CLAUSE.match(raw, pos)
        if not match:
            raise bad_request(
                f"Syntax error: character '{raw[pos]}' is not valid at position {pos} in '{raw}'.",
                "BadRequest",
            )
        terms.append(match.group(1))
        pos = match.end()
        if pos < len(raw):
            word = re.match(r"(AND|OR)\s*", raw[pos:])
            if not word:
                raise bad_request(
                    f"Syntax error: character '{raw[pos]}' is not valid at position {pos} in '{raw}'.",
                    "BadRequest",
                )
            ops.append(word.group(1))
            pos += word.end()
    if not terms or len(ops) != len(terms) - 1:
        raise bad_request(f"Invalid search clause '{raw}'.", "BadRequest")
    result, current = None, _search_clause(terms[0], spec)
    for op, term in zip(ops, terms[1:], strict=True):
        clause = _search_clause(term, spec)
        if op == "AND":
            current &= clause
        else:
            result = current if result is None else result | current
            current = clause
    return current if result is None else result | current


def _search_clause(term: str, spec: EntitySpec) -> Q:
    name, sep, text = term.partition(":")
    if not sep:
        raise bad_request(
            f"Invalid search clause '{term}': the property name is required, as in \"displayName:value\".",
            "BadRequest",
        )
    if name not in spec.searchable:
        raise unsupported_query(f"Search is not supported for the '{name}' property.")
    fld = spec.field_for((name,))
    query = Q()
    for word in text.split():
        query &= fld.word_prefix(word)
    return query


def consistency_eventual(request: HttpRequest) -> bool:
    return request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"


def parse_bool_option(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise bad_request(f"Invalid value '{raw}' for the {name} query option.", "BadRequest")


def parse_list_query(request: HttpRequest, spec: EntitySpec, *, max_top: int = 999) -> ListQuery:
    params = request.GET
    unknown = [k for k in params if k.startswith("$") and k not in spec.query_options]
    if unknown:
        raise bad_request(f"Query option '{unknown[0]}' is not allowed.", "BadRequest")
    query = ListQuery(eventual=consistency_eventual(request))
    query.select = parse_select(params.get("$select"), spec)
    query.top = parse_top(params.get("$top"), max_top)
    query.count = parse_bool_option(params.get("$count"), "$count")
    query.orderby = parse_orderby(params.get("$orderby"), spec)
    advanced: list[str] = []
    if params.get("$filter"):
        query.filter_text = params["$filter"]
        compiled = compile_filter(parse_filter(query.filter_text), spec)
        query.filter_q = compiled.q
        advanced = compiled.advanced
    if "$search" in params:
        if not query.eventual:
            raise unsupported_query(
                "Request with $search query parameter only works through MSGraph with a special request header: "
                "'ConsistencyLevel: eventual'"
            )
        query.search_q = parse_search(params["$search"], spec)
    if query.count and not query.eventual and spec.count_needs_eventual:
        raise GraphProblem(400, "Request_BadRequest", "$count is not currently supported.")
    if advanced and not (query.eventual and query.count):
        operator = advanced[0]
        if not query.eventual:
            message = f"Operator '{operator}' is not supported because the 'ConsistencyLevel:eventual' header is missing."
        else:
            message = (
                f"Operator '{operator}' is not supported because the required parameters might be missing. "
                "Try adding $count=true query parameter and ConsistencyLevel:eventual header."
            )
        raise unsupported_query(f"{message} {ADVANCED_DOCS}")
    if query.filter_text and query.orderby and not (query.eventual and query.count):
        raise unsupported_query(
            "Sorting not supported for current query. $orderby combined with $filter needs $count=true and the "
            f"'ConsistencyLevel:eventual' header. {ADVANCED_DOCS}"
        )
    return query
