"""Why a compromise-research source could not be read, and the mapping from Graph/Exchange errors to it.

``SourceUnavailable.reason`` is one of the REASONS texts, written to be shown as is after "Could not check:".
Only the failures that mean "this source cannot be read for this tenant/user right now" become a
SourceUnavailable; anything else (a malformed request, an unexpected 400) stays a GraphError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from graph.errors import AuthError, GraphError, ThrottledError, TransientError

NEEDS_P1 = "needs Entra ID P1"
NEEDS_P2 = "needs Entra ID P2"
AUDIT_OFF = "unified audit log is off"
PERMISSION = "permission missing"
THROTTLED = "throttled after retries"
UNAVAILABLE = "service unavailable after retries"
NO_MAILBOX = "user has no mailbox"
REASONS = (NEEDS_P1, NEEDS_P2, AUDIT_OFF, PERMISSION, THROTTLED, UNAVAILABLE, NO_MAILBOX)

# Graph's answer to a sign-in log (or signInActivity) read in a tenant without Entra ID P1/P2.
NON_PREMIUM_CODE = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
# Words of a licence refusal; Identity Protection answers a plain 403 whose text is not documented.
_LICENCE_WORDS = re.compile(r"licen[cs]|premium|\bP2\b|NoLicense", re.IGNORECASE)


class SourceUnavailable(Exception):
    def __init__(self, reason: str, detail: str = "", error: GraphError | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.error = error


def classify(error: GraphError, licence: str | None = None) -> SourceUnavailable | None:
    """The SourceUnavailable an error means, or None when it is not a "cannot read this source" failure.

    ``licence`` is the reason to give for a licence refusal on this source (NEEDS_P1 / NEEDS_P2)."""
    detail = error.message
    if isinstance(error, ThrottledError):
        return SourceUnavailable(THROTTLED, detail, error)
    if isinstance(error, TransientError):
        return SourceUnavailable(UNAVAILABLE, detail, error)
    if isinstance(error, AuthError):
        if error.code == NON_PREMIUM_CODE:
            return SourceUnavailable(licence or NEEDS_P1, detail, error)
        if licence and (
            _LICENCE_WORDS.search(error.message or "") or _LICENCE_WORDS.search(error.code or "")
        ):
            return SourceUnavailable(licence, detail, error)
        return SourceUnavailable(PERMISSION, detail, error)
    return None


@contextmanager
def source(licence: str | None = None) -> Iterator[None]:
    """Turn the failures that make a source unreadable into SourceUnavailable."""
    try:
        yield
    except GraphError as error:
        unavailable = classify(error, licence)
        if unavailable is None:
            raise
        raise unavailable from error


def graph_iso(moment: datetime) -> str:
    """An aware datetime as the UTC ``yyyy-mm-ddThh:mm:ssZ`` text OData filters and cmdlets take."""
    if moment.tzinfo is None:
        raise ValueError("research windows must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
