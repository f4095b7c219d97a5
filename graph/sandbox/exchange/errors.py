"""Exchange's InvokeCommand error body (contract Part A.3)::

    {"error": {"code", "message",
               "details": [{"code", "target", "message": "ExNNNNNN|<.NET exception type>|<message>"}],
               "innererror": {"message", "type", "internalexception": {"message"}}}}

Clients read ``details[].message`` and split it on ``|``. ``Ex6F9304`` is the id Microsoft uses for
ManagementObjectNotFoundException; the other ids are the sandbox's own, stable so tests can match them.
"""

from __future__ import annotations

import uuid

from django.http import JsonResponse

NOT_FOUND = ("Ex6F9304", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")
AMBIGUOUS = ("ExB7C4E2", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException")
COMMAND_NOT_FOUND = ("ExC1D3A7", "System.Management.Automation.CommandNotFoundException")
PARAMETER_BINDING = ("Ex8B2F11", "System.Management.Automation.ParameterBindingException")
INVALID_ARGUMENT = ("Ex3A9D55", "System.ArgumentException")
BAD_REQUEST = ("Ex0F1E2D", "Microsoft.Exchange.Admin.OData.Core.ODataException")
UNAUTHORIZED = ("Ex4D7A10", "System.UnauthorizedAccessException")
THROTTLED = ("Ex5C0F88", "Microsoft.Exchange.Data.Storage.TooManyObjectsOpenedException")
SERVER = ("Ex1B2C3D", "Microsoft.Exchange.Data.Storage.ServerTemporarilyUnavailableException")

_BY_STATUS = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: UNAUTHORIZED, 404: NOT_FOUND, 429: THROTTLED}
_CODE_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "BadRequest",
}


class CmdletError(Exception):
    """A cmdlet failure that becomes the error body above."""

    def __init__(self, status: int, kind: tuple[str, str], message: str, *, target: str = ""):
        super().__init__(message)
        self.status = status
        self.error_id, self.exception_type = kind
        self.message = message
        self.target = target

    def response(self) -> JsonResponse:
        return exchange_error(
            self.status,
            _CODE_BY_STATUS.get(self.status, "InternalServerError"),
            self.message,
            kind=(self.error_id, self.exception_type),
            target=self.target,
        )


def exchange_error(
    status: int,
    code: str,
    message: str,
    *,
    kind: tuple[str, str] | None = None,
    target: str = "",
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    error_id, exception_type = kind or _BY_STATUS.get(status, SERVER)
    body = {
        "error": {
            "code": code,
            "message": f"|{exception_type}|{message}",
            "details": [
                {"code": "Context", "target": target, "message": f"{error_id}|{exception_type}|{message}"}
            ],
            "innererror": {
                "message": message,
                "type": exception_type,
                "internalexception": {"message": message},
            },
        }
    }
    response = JsonResponse(body, status=status)
    response["X-ExceptionType"] = exception_type.rsplit(".", 1)[-1]
    response["request-id"] = str(uuid.uuid4())
    for name, value in (headers or {}).items():
        response[name] = value
    return response
