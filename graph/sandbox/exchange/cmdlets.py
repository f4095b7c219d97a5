"""Cmdlet registry and dispatcher for InvokeCommand.

A cmdlet is registered with :func:`cmdlet`::

    @cmdlet("Get-Widget", parameters=("Identity", "ResultSize"), output_type="Exchange.Widget")
    def get_widget(tenant, params, request) -> list[dict] | CmdletOutput: ...

Parameter names are case-insensitive, as in PowerShell; the handler receives them under the spelling it
declared. A parameter the cmdlet does not declare fails like PowerShell's parameter binding. Handlers
return the pipeline objects (PascalCase dicts), or a :class:`CmdletOutput` with warnings and/or a
:class:`QueryRows` that pages in the database instead of in memory. Failures raise ``CmdletError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet

from . import errors
from .errors import CmdletError

# Common parameters every cmdlet accepts; they change nothing in the sandbox.
COMMON_PARAMETERS = ("ErrorAction", "WarningAction", "Verbose", "Debug", "Confirm", "WhatIf")


@dataclass
class QueryRows:
    """Lazily converted query results, capped at ``limit`` rows (None = unlimited)."""

    queryset: QuerySet
    convert: Callable[[object], dict]
    limit: int | None = None

    def slice(self, start: int, stop: int) -> list[dict]:
        if self.limit is not None:
            stop = min(stop, self.limit)
        if start >= stop:
            return []
        return [self.convert(row) for row in self.queryset[start:stop]]


@dataclass
class CmdletOutput:
    rows: list[dict] | QueryRows
    warnings: list[str] = field(default_factory=list)


Handler = Callable[..., "list[dict] | CmdletOutput"]


@dataclass(frozen=True)
class Cmdlet:
    name: str
    handler: Handler
    parameters: tuple[str, ...]
    output_type: str


REGISTRY: dict[str, Cmdlet] = {}


def cmdlet(name: str, *, parameters: Sequence[str] = (), output_type: str = "Exchange.GenericHashTable"):
    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = Cmdlet(name, handler, tuple(parameters), output_type)
        return handler

    return register


def lookup(name: str) -> Cmdlet:
    found = REGISTRY.get(str(name).strip().lower())
    if found is None:
        raise CmdletError(
            400,
            errors.COMMAND_NOT_FOUND,
            f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable "
            "program. Check the spelling of the name, or if a path was included, verify that the path is "
            "correct and try again.",
        )
    return found


def bind_parameters(command: Cmdlet, raw: dict) -> dict:
    """Map the caller's parameter names onto the cmdlet's declared spelling (case-insensitive)."""
    declared = {name.lower(): name for name in (*command.parameters, *COMMON_PARAMETERS)}
    bound = {}
    for name, value in raw.items():
        canonical = declared.get(str(name).lower())
        if canonical is None:
            raise CmdletError(
                400,
                errors.PARAMETER_BINDING,
                f"A parameter cannot be found that matches parameter name '{name}'.",
            )
        if canonical not in COMMON_PARAMETERS:
            bound[canonical] = value
    return bound


def require(params: dict, *names: str) -> None:
    missing = [name for name in names if params.get(name) in (None, "")]
    if missing:
        raise CmdletError(
            400,
            errors.PARAMETER_BINDING,
            f"Cannot process command because of one or more missing mandatory parameters: {' '.join(missing)}.",
        )


def as_list(value) -> list[str]:
    """A PowerShell array parameter given as a JSON array, a single string or a comma-separated string."""
    if value is None:
        return []
    items: Iterable = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def page(rows: list[dict] | QueryRows, offset: int, size: int) -> tuple[list[dict], bool]:
    """One page of results and whether more follow."""
    if isinstance(rows, QueryRows):
        chunk = rows.slice(offset, offset + size + 1)
    else:
        chunk = rows[offset : offset + size + 1]
    return chunk[:size], len(chunk) > size


def invoke(tenant, name: str, raw_params: dict, request) -> tuple[Cmdlet, CmdletOutput]:
    command = lookup(name)
    params = bind_parameters(command, raw_params)
    result = command.handler(tenant, params, request)
    if not isinstance(result, CmdletOutput):
        result = CmdletOutput(rows=list(result))
    return command, result


def select_properties(item: dict, selected: list[str]) -> dict:
    """``$select``: keep the named properties (case-insensitive), in the object's own order."""
    wanted = {name.lower() for name in selected}
    return {key: value for key, value in item.items() if key.lower() in wanted}
