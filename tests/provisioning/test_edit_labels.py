"""Edit user's remove checkboxes say what they remove: the label a screen reader reads names the group or
the licence, not just "Remove"."""

from __future__ import annotations

import re

import pytest

from .test_edit_views import editor, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def accessible_label(page: str, input_id: str) -> str:
    """The text of the <label for=input_id>, visually hidden parts included, tags removed."""
    match = re.search(
        rf'<label class="form-check-label" for="{re.escape(input_id)}">(.*?)</label>', page, re.S
    )
    assert match, f"no label for {input_id}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_remove_checkboxes_name_the_group_and_the_licence(world, editor):  # noqa: F811
    user = world.user("Northwind Traders", where=lambda u: u.group_memberships.filter(
        group__display_name="All Company").exists())  # fmt: skip
    response = editor.get(world.url(user))
    page = response.content.decode()
    all_company = world.group("Northwind Traders", "All Company")
    assert accessible_label(page, f"group-remove-{all_company.pk}") == "Remove from All Company"
    removable = [row for row in response.context["form"].licence_rows() if row["remove"] is not None]
    assert removable, "the user holds a removable licence"
    for row in removable:
        assert accessible_label(page, row["remove"].id_for_label) == f"Remove {row['lic'].name}"
