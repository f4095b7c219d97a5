"""Log filter that removes secrets before a record reaches any handler.

Belt and braces: the code never logs a password, token or secret on purpose, but a library or an
exception message might echo a request body. Anything that looks like one is replaced by ``[redacted]``.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    # bearer tokens first, so "Authorization: Bearer <jwt>" loses the token, not only the word "Bearer"
    re.compile(r"(?i)(bearer\s+)()([A-Za-z0-9\-_.~+/]+=*)"),
    # key=value / "key": "value" pairs whose key names a secret
    re.compile(
        r"""(?ix)
        (["']?(?:password|passwd|client_secret|refresh_token|access_token|id_token|code_verifier|
                 temporaryAccessPass|assertion|secret|authorization)["']?\s*[:=]\s*)
        (["']?)([^"'&\s,}]+)"""
    ),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True
