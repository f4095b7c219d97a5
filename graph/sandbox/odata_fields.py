"""Which storage backs each Graph property in $filter/$orderby/$search, per entity set.

Indexed columns serve the hot properties (id, userPrincipalName, displayName, mail, accountEnabled,
userType, createdDateTime); everything else is a JSON key lookup into ``properties``. String comparisons
are case-insensitive, as in Entra ID. Collections of strings (proxyAddresses, groupTypes, ...) are matched
on their JSON text, which is exact for ``eq``/``startswith``/``endswith`` on addresses and types (values
never contain quotes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q

from .errors import GraphProblem, bad_request, unsupported_query
from .user_schema import USER_FILTERABLE, USER_PROPERTIES

_EDM = {
    "str": "Edm.String",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
    "int": "Edm.Int32",
}
_LITERAL_EDM = {
    "string": "Edm.String",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
    "number": "Edm.Int32",
}
_ORM_OP = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


def _incompatible(kind: str, literal, op: str) -> GraphProblem:
    names = {
        "eq": "Equal",
        "ne": "NotEqual",
        "gt": "GreaterThan",
        "ge": "GreaterThanOrEqual",
        "lt": "LessThan",
        "le": "LessThanOrEqual",
    }
    return bad_request(
        "A binary operator with incompatible types was detected. Found operand types "
        f"'{_EDM.get(kind, kind)}' and '{_LITERAL_EDM.get(literal.kind, literal.kind)}' for operator kind "
        f"'{names.get(op, op)}'.",
        code="BadRequest",
    )


def _graph_datetime(value: datetime) -> str:
    from .directory import graph_now

    return graph_now(value)


@dataclass
class ScalarField:
    """One Graph property: ``lookup`` is the ORM path; ``lowered`` means the column stores lower case."""

    name: str
    kind: str  # str, bool, datetime, guid, int
    lookup: str
    lowered: bool = False
    is_json: bool = False
    nullable: bool = True

    def _value(self, literal, op: str):
        if literal.kind == "null":
            return None
        if self.kind == "str" and literal.kind == "string":
            return literal.value.lower() if self.lowered else literal.value
        if self.kind == "bool" and literal.kind == "bool":
            return literal.value
        if self.kind == "guid" and literal.kind in {"guid", "string"}:
            try:
                return str(uuid.UUID(str(literal.value)))
            except ValueError:
                raise bad_request(f"Invalid object identifier '{literal.value}'.") from None
        if self.kind == "datetime" and literal.kind == "datetime":
            return _graph_datetime(literal.value) if self.is_json else literal.value
        if self.kind == "int" and literal.kind == "number":
            return literal.value
        raise _incompatible(self.kind, literal, op)

    def _null(self) -> Q:
        if self.is_json:
            return Q(**{f"{self.lookup}__isnull": True}) | Q(**{self.lookup: None})
        if self.kind == "str":
            return Q(**{self.lookup: ""})  # columns store "" for an unset string
        return Q(pk__in=[])

    def compare(self, op: str, literal) -> Q:
        value = self._value(literal, op)
        if value is None:
            if op != "eq":
                raise unsupported_query(
                    f"Unsupported or invalid query filter clause specified for property '{self.name}'."
                )
            return self._null()
        if op == "eq":
            if self.kind == "str" and not self.lowered:
                return Q(**{f"{self.lookup}__iexact": value})
            return Q(**{self.lookup: value})
        if self.kind == "bool":
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{self.name}'."
            )
        return Q(**{f"{self.lookup}__{_ORM_OP[op]}": value})

    def function(self, name: str, literal) -> Q:
        if self.kind != "str" or literal.kind != "string":
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{self.name}'."
            )
        value = literal.value.lower() if self.lowered else literal.value
        suffix = "startswith" if name == "startswith" else "endswith"
        return Q(**{f"{self.lookup}__{suffix if self.lowered else 'i' + suffix}": value})

    def word_prefix(self, word: str) -> Q:
        """$search semantics: some word of the value starts with ``word``."""
        value = word.lower() if self.lowered else word
        lookup = "" if self.lowered else "i"
        query = Q(**{f"{self.lookup}__{lookup}startswith": value})
        for separator in (" ", ".", "@", "_", "-"):
            query |= Q(**{f"{self.lookup}__{lookup}contains": separator + value})
        return query


@dataclass
class StringCollection:
    """A JSON array of strings, matched on its JSON text."""

    name: str
    lookup: str

    def _leaf(self, var: str, node) -> Q:
        if node.op == "or":
            return self._leaf(var, node.args[0]) | self._leaf(var, node.args[1])
        if (
            node.op == "cmp"
            and node.args[0] == "eq"
            and node.args[1] == (var,)
            and node.args[2].kind == "string"
        ):
            return Q(**{f"{self.lookup}__icontains": f'"{node.args[2].value}"'})
        if node.op == "func" and node.args[1] == (var,) and node.args[2].kind == "string":
            value = node.args[2].value
            pattern = f'"{value}' if node.args[0] == "startswith" else f'{value}"'
            return Q(**{f"{self.lookup}__icontains": pattern})
        raise unsupported_query(
            f"Unsupported or invalid query filter clause specified for property '{self.name}'."
        )

    def any(self, var: str, inner) -> Q:
        return self._leaf(var, inner)

    def count(self, op: str, literal) -> Q:
        if op not in {"eq", "ne"} or literal.kind != "number" or literal.value != 0:
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{self.name}'."
            )
        non_empty = Q(**{f"{self.lookup}__icontains": '"'})
        empty = Q(**{f"{self.lookup}__isnull": True}) | ~non_empty
        return empty if op == "eq" else non_empty


@dataclass
class LicenseCollection:
    """user.assignedLicenses, answered from the licence assignment rows."""

    name: str = "assignedLicenses"

    def _exists(self, **conditions) -> Exists:
        from .models import SandboxLicenseAssignment

        return Exists(SandboxLicenseAssignment.objects.filter(user=OuterRef("pk"), **conditions))

    def any(self, var: str, inner) -> Q:
        if inner.op == "or":
            return self.any(var, inner.args[0]) | self.any(var, inner.args[1])
        if inner.op == "cmp" and inner.args[0] == "eq" and inner.args[1] == (var, "skuId"):
            literal = inner.args[2]
            if literal.kind not in {"guid", "string"}:
                raise _incompatible("guid", literal, "eq")
            try:
                sku_id = uuid.UUID(str(literal.value))
            except ValueError:
                raise bad_request(f"Invalid GUID value '{literal.value}'.", code="BadRequest") from None
            return Q(self._exists(sku__sku_id=sku_id))
        raise unsupported_query(
            "Unsupported or invalid query filter clause specified for property 'assignedLicenses'."
        )

    def count(self, op: str, literal) -> Q:
        if op not in {"eq", "ne"} or literal.kind != "number" or literal.value != 0:
            raise unsupported_query(
                "Unsupported or invalid query filter clause specified for property 'assignedLicenses'."
            )
        exists = Q(self._exists())
        return ~exists if op == "eq" else exists


@dataclass
class EntitySpec:
    graph_type: str
    entity_name: str
    fields: dict[str, ScalarField]
    collections: dict
    selectable: frozenset[str]
    sortable: dict[str, str]  # graph property -> model column
    searchable: frozenset[str] = frozenset()
    query_options: frozenset[str] = frozenset(
        {"$select", "$filter", "$top", "$orderby", "$count", "$search", "$skiptoken"}
    )
    count_needs_eventual: bool = True
    filterable_json: frozenset[str] = field(default_factory=frozenset)

    def _unknown(self, name: str) -> GraphProblem:
        return bad_request(
            f"Could not find a property named '{name}' on type '{self.graph_type}'.", code="BadRequest"
        )

    def field_for(self, path: tuple[str, ...]) -> ScalarField:
        name = path[0]
        if "/".join(path) in self.fields:
            return self.fields["/".join(path)]
        if len(path) != 1:
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{name}' of resource '{self.entity_name}'."
            )
        if name in self.fields:
            return self.fields[name]
        if name in self.filterable_json:
            kind = USER_PROPERTIES.get(name, ("str", False))[0]
            return ScalarField(
                name,
                kind if kind in {"str", "bool", "datetime", "int"} else "str",
                f"properties__{name}",
                is_json=True,
            )
        if name in self.selectable:
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{name}' of resource '{self.entity_name}'."
            )
        raise self._unknown(name)

    def collection_for(self, path: tuple[str, ...]):
        name = "/".join(path)
        if name in self.collections:
            return self.collections[name]
        if path[0] in self.selectable:
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{name}' of resource '{self.entity_name}'."
            )
        raise self._unknown(name)


def _user_filterable_json() -> frozenset[str]:
    indexed = {
        "id",
        "userPrincipalName",
        "displayName",
        "mail",
        "accountEnabled",
        "userType",
        "createdDateTime",
    }
    return frozenset(
        name
        for name in USER_FILTERABLE
        if USER_PROPERTIES[name][0] in {"str", "bool", "datetime"} and name not in indexed
    )


USER_SPEC = EntitySpec(
    graph_type="microsoft.graph.user",
    entity_name="User",
    fields={
        "id": ScalarField("id", "guid", "id", nullable=False),
        "userPrincipalName": ScalarField("userPrincipalName", "str", "upn_lower", lowered=True),
        "displayName": ScalarField("displayName", "str", "display_name"),
        "mail": ScalarField("mail", "str", "mail_lower", lowered=True),
        "accountEnabled": ScalarField("accountEnabled", "bool", "account_enabled"),
        "userType": ScalarField("userType", "str", "user_type"),
        "createdDateTime": ScalarField("createdDateTime", "datetime", "created_datetime"),
        "givenName": ScalarField("givenName", "str", "properties__givenName", is_json=True),
        "surname": ScalarField("surname", "str", "properties__surname", is_json=True),
        **{
            f"signInActivity/{name}": ScalarField(
                f"signInActivity/{name}", "datetime", f"properties__signInActivity__{name}", is_json=True
            )
            for name in (
                "lastSignInDateTime",
                "lastNonInteractiveSignInDateTime",
                "lastSuccessfulSignInDateTime",
            )
        },
    },
    collections={
        "assignedLicenses": LicenseCollection(),
        "proxyAddresses": StringCollection("proxyAddresses", "properties__proxyAddresses"),
        "otherMails": StringCollection("otherMails", "properties__otherMails"),
        "businessPhones": StringCollection("businessPhones", "properties__businessPhones"),
        "imAddresses": StringCollection("imAddresses", "properties__imAddresses"),
    },
    selectable=frozenset(USER_PROPERTIES),
    sortable={
        "id": "id",
        "displayName": "display_name",
        "userPrincipalName": "upn_lower",
        "mail": "mail_lower",
        "createdDateTime": "created_datetime",
    },
    searchable=frozenset({"displayName", "mail", "userPrincipalName", "givenName", "surname"}),
    filterable_json=_user_filterable_json(),
)

GROUP_PROPERTIES = frozenset(
    {
        "id", "deletedDateTime", "classification", "createdDateTime", "description", "displayName",
        "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname",
        "membershipRule", "membershipRuleProcessingState", "onPremisesLastSyncDateTime",
        "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
        "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions",
        "securityEnabled", "securityIdentifier", "theme", "visibility",
    }
)  # fmt: skip

GROUP_SPEC = EntitySpec(
    graph_type="microsoft.graph.group",
    entity_name="Group",
    fields={
        "id": ScalarField("id", "guid", "id", nullable=False),
        "displayName": ScalarField("displayName", "str", "display_name"),
        "mail": ScalarField("mail", "str", "mail_lower", lowered=True),
        "mailEnabled": ScalarField("mailEnabled", "bool", "mail_enabled"),
        "securityEnabled": ScalarField("securityEnabled", "bool", "security_enabled"),
        "createdDateTime": ScalarField("createdDateTime", "datetime", "created_datetime"),
        "onPremisesSyncEnabled": ScalarField("onPremisesSyncEnabled", "bool", "on_premises_sync_enabled"),
        "isAssignableToRole": ScalarField("isAssignableToRole", "bool", "is_assignable_to_role"),
        "mailNickname": ScalarField("mailNickname", "str", "properties__mailNickname", is_json=True),
        "description": ScalarField("description", "str", "properties__description", is_json=True),
    },
    collections={
        "groupTypes": StringCollection("groupTypes", "group_types"),
        "proxyAddresses": StringCollection("proxyAddresses", "properties__proxyAddresses"),
    },
    selectable=GROUP_PROPERTIES,
    sortable={"id": "id", "displayName": "display_name", "createdDateTime": "created_datetime"},
    searchable=frozenset({"displayName", "description", "mail", "mailNickname"}),
)
