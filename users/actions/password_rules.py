"""Entra ID's rules for a password an administrator sets, checked before it is sent so the technician sees
the problem next to the field instead of Graph's one-line refusal:

* 8 to 256 characters;
* at least three of the four classes lower case, upper case, digits, symbols;
* only the characters Entra allows: A-Z, a-z, 0-9, the space and ``@ # $ % ^ & * - _ ! + = [ ] { } | \\ : ' ,
  . ? / ` ~ " ( ) ; < >`` (no other Unicode characters);
* not containing the user's name: the part of the UPN before "@" and each part of it or of the display
  name (split on space, ".", "-", "_") of three characters or more, in any case.

Problems are returned as sentences; the password itself never appears in them.
"""

from __future__ import annotations

import re

MIN_LENGTH, MAX_LENGTH = 8, 256
SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "
ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + SYMBOLS)
NAME_PART_MIN = 3
_SPLIT = re.compile(r"[\s._\-]+")


def name_parts(user) -> list[str]:
    """The pieces of the user's name a password must not contain (lower case, longest first)."""
    if user is None:
        return []
    alias = (getattr(user, "user_principal_name", "") or "").split("@")[0]
    parts = {alias.lower()} if len(alias) >= NAME_PART_MIN else set()
    for text in (alias, getattr(user, "display_name", "") or ""):
        parts |= {p.lower() for p in _SPLIT.split(text) if len(p) >= NAME_PART_MIN}
    return sorted(parts, key=lambda p: (-len(p), p))


def password_problems(password: str, user=None) -> list[str]:
    problems: list[str] = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"Use {MIN_LENGTH} to {MAX_LENGTH} characters (this has {len(password)}).")
    if any(c not in ALLOWED for c in password):
        problems.append(
            "Use only letters A-Z and a-z, digits, spaces and the symbols Entra allows "
            "(@ # $ % ^ & * - _ ! + = [ ] { } | \\ : ' , . ? / ` ~ \" ( ) ; < >); no accented letters or "
            "other characters."
        )
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(c in SYMBOLS for c in password),
    ]
    if sum(classes) < 3:
        problems.append("Use at least three of: lower-case letters, capitals, digits, symbols.")
    lowered = password.lower()
    found = next((part for part in name_parts(user) if part in lowered), None)
    if found:
        problems.append(f"Do not use the user's name in the password (it contains “{found}”).")
    return problems
