"""From an uploaded file to a draft import: rows stored, passwords sealed (never kept in the clear), checked.

A password typed in the file is checked here with Microsoft's rules and then kept only as ciphertext
(see ``users.bulkadd.sealed``); a refused one is not kept at all — the row shows why and the technician
types a new one or leaves it blank to have one generated. ``data`` keeps ``_password`` as a state word
("given", or "refused: reason"), never the value.
"""

from __future__ import annotations

import secrets

from django.db import transaction

from cippusers import crypto
from users.export import is_risky
from users.models import BulkImport, BulkImportRow
from users.provisioning import rules

from . import sealed
from .parse import ParsedFile
from .validate import password_state_refused

FORMULA_PASSWORD = (
    "A password here cannot start with = + - or @, nor have one right after a comma, semicolon or line "
    "break: spreadsheets would read it as a formula."
)


def password_refusal(password: str) -> str | None:
    problem = rules.password_problem(password)
    if problem:
        return problem
    if is_risky(password):
        return FORMULA_PASSWORD
    return None


def set_password(bulk_import: BulkImport, row: BulkImportRow, password: str) -> None:
    """Keep a typed password for the row (sealed for the download, Fernet for the worker), or the reason
    it was refused. ``password`` "" clears it (one will be generated)."""
    row.password_sealed = row.password_for_worker = row.password_source = ""
    data = {k: v for k, v in row.data.items() if k != "_password"}
    if password:
        refusal = password_refusal(password)
        if refusal:
            data["_password"] = password_state_refused(refusal)
        else:
            data["_password"] = "given"
            row.password_source = "file"
            row.password_for_worker = crypto.encrypt(password)
            row.password_sealed = sealed.seal(
                bulk_import.public_key, password, sealed.row_context(bulk_import.pk, row.key)
            )
    row.data = data


def create_import(
    tenant, technician, parsed: ParsedFile, *, file_name: str, source_ip: str | None
) -> tuple[BulkImport, str]:
    """A draft import with one row per file row. Returns (import, private key for the browser's cookie)."""
    private_key, public_key = sealed.new_key_pair()
    with transaction.atomic():
        bulk_import = BulkImport.objects.create(
            kind=parsed.kind, tenant=tenant, created_by=technician, source_ip=source_ip, file_name=file_name[:255],
            file_format=parsed.format[:64], file_notes=parsed.notes, public_key=public_key,
            marker=secrets.token_urlsafe(12), defaults=_initial_defaults(parsed.kind),
        )  # fmt: skip
        add_rows(bulk_import, parsed)
    return bulk_import, private_key


def add_rows(bulk_import: BulkImport, parsed: ParsedFile) -> None:
    """Store the file's rows (keys continue after any earlier upload's, so a key is never reused)."""
    start = bulk_import.rows.count()
    rows = []
    for index, parsed_row in enumerate(parsed.rows, start=start + 1):
        data = dict(parsed_row.data)
        password = data.pop("password", "")
        row = BulkImportRow(bulk_import=bulk_import, key=f"r{index}", position=parsed_row.position, data=data)
        if password:
            set_password(bulk_import, row, password)
        rows.append(row)
    BulkImportRow.objects.bulk_create(rows, batch_size=1000)


def replace_rows(bulk_import: BulkImport, parsed: ParsedFile, *, file_name: str) -> None:
    """Re-upload: the new file's rows replace the draft's (same import, same key pair, same defaults)."""
    with transaction.atomic():
        last = bulk_import.rows.order_by("-id").values_list("key", flat=True).first() or "r0"
        bulk_import.rows.all().delete()
        offset = int(last[1:]) if last[1:].isdigit() else 0
        rows = []
        for index, parsed_row in enumerate(parsed.rows, start=offset + 1):
            data = dict(parsed_row.data)
            password = data.pop("password", "")
            row = BulkImportRow(
                bulk_import=bulk_import, key=f"r{index}", position=parsed_row.position, data=data
            )
            if password:
                set_password(bulk_import, row, password)
            rows.append(row)
        BulkImportRow.objects.bulk_create(rows, batch_size=1000)
        bulk_import.file_name, bulk_import.file_format = file_name[:255], parsed.format[:64]
        bulk_import.file_notes = parsed.notes
        bulk_import.save(update_fields=["file_name", "file_format", "file_notes", "updated_at"])


def _initial_defaults(kind: str) -> dict:
    if kind == BulkImport.Kind.GUESTS:
        return {"send_invitation": True, "redirect_url": "", "message": ""}
    return {"licences": [], "usage_location": "", "groups": [], "must_change": True}
