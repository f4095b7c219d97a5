"""Case- and accent-insensitive search of the users table, the same on SQLite and PostgreSQL.

Neither database folds text the way a technician expects: SQLite's LIKE and UPPER() know only ASCII (so
``özdemir`` missed "Özdemir"), and PostgreSQL's UPPER() keeps accents. So the folding happens in Python,
once per user when the sync writes the row: ``DirectoryUser.search_key`` holds each searchable value folded
(``fold``) and preceded by ``SEPARATOR``; the typed term is folded the same way and a row matches when its
key contains ``SEPARATOR + term`` — the term is a prefix of one of the values. That is one ``LIKE '%…%'``
on one column, which a pg_trgm GIN index serves on PostgreSQL (migration 0010); the separator is not a
word character, so even a one-letter prefix gives pg_trgm a word-start trigram to look up.

``fold``: compatibility decomposition (full-width letters, ligatures), Unicode case folding (ß → ss, final
sigma → sigma, İ → i), diacritics of the Latin, Greek and Cyrillic combining blocks dropped (Ö → o, é → e,
ά → α), letters that carry their stroke or dot inside the letter mapped to their base (ı ł ø đ …), runs of
white space made one space, then NFC. Other scripts' marks (Japanese dakuten, Hangul, Indic vowel signs)
are kept: there they change the letter, not an accent on it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Between values in the key; str.split() treats it as white space, so ``fold`` never leaves one in a value
# or a term.
SEPARATOR = "\x1f"

_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters with no decomposition that a keyboard without them spells with the base letter. Applied after
# casefold, so only the lower-case forms are needed.
_BASE_LETTERS = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "æ": "ae", "œ": "oe", "þ": "th"}
)


def fold(text: str) -> str:
    """``text`` as the search compares it (see the module docstring)."""
    if text.isascii():  # most names and every address: casefold is lower() there, nothing to decompose
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    text = _DIACRITICS.sub("", text).translate(_BASE_LETTERS)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _smtp_addresses(proxy_addresses: Iterable[str]) -> list[str]:
    """The addresses of the SMTP proxy addresses ("SMTP:a@x" primary, "smtp:b@y" aliases)."""
    return [
        address[5:]
        for address in proxy_addresses
        if isinstance(address, str) and address[:5].lower() == "smtp:"
    ]


def build_search_key(
    *,
    display_name: str = "",
    given_name: str = "",
    surname: str = "",
    user_principal_name: str = "",
    mail: str = "",
    proxy_addresses: Iterable[str] = (),
) -> str:
    """The stored key: each distinct non-empty folded value after a SEPARATOR, in the order given."""
    values = [display_name, given_name, surname, user_principal_name, mail, *_smtp_addresses(proxy_addresses)]
    folded: dict[str, None] = {}
    for value in values:
        if value:
            text = fold(str(value))
            if text:
                folded[text] = None
    return "".join(SEPARATOR + text for text in folded)


# DirectoryUser fields the key is built from (``DirectoryUser.save`` rebuilds it when one of them is saved).
KEY_SOURCE_FIELDS = (
    "display_name",
    "given_name",
    "surname",
    "user_principal_name",
    "mail",
    "proxy_addresses",
)


def search_key_of(row) -> str:
    """The key of a DirectoryUser (or any object with the source fields as attributes)."""
    texts = {name: getattr(row, name) or "" for name in KEY_SOURCE_FIELDS if name != "proxy_addresses"}
    return build_search_key(**texts, proxy_addresses=getattr(row, "proxy_addresses", None) or ())
