"""Examples of the password options (tests/actions/examples.py): a typed password, require a change at the
next sign-in, password never expires on / off. Targets are cloud members of Northwind Traders."""

from __future__ import annotations

from .examples import ActionExample, cloud_member

# Meets Entra's rules and contains no seeded name part (checked by the password-rules tests).
CHOSEN_PASSWORD = "Tr0ub4dor&Quill!92"


def _reload(user):
    user.refresh_from_db()
    return user


def _check_password_set(user):
    from django.contrib.auth.hashers import check_password

    assert check_password(CHOSEN_PASSWORD, _reload(user).password_hash)
    assert user.properties["passwordProfile"]["forceChangePasswordNextSignIn"] is True


def _check_must_change(user):
    before = user.password_hash
    after = _reload(user)
    assert after.properties["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert after.password_hash == before, "the password itself must not change"


def _check_never_expires(user):
    assert "DisablePasswordExpiration" in _reload(user).properties.get("passwordPolicies")


def never_expiring(world, *, skip: int = 0):
    """A cloud member whose password never expires and who may use weak passwords (kept afterwards)."""
    from graph.sandbox import directory

    user = cloud_member(world, skip=6 + skip)
    return directory.update_user(
        user, {"passwordPolicies": "DisablePasswordExpiration, DisableStrongPassword"}
    )


def _check_expires(user):
    assert _reload(user).properties.get("passwordPolicies") == "DisableStrongPassword"


EXAMPLES = {
    "set-chosen-password": ActionExample(lambda w: cloud_member(w, skip=2),
                                         {"new_password": CHOSEN_PASSWORD, "must_change": "on"},
                                         check=_check_password_set),
    "require-password-change": ActionExample(lambda w: cloud_member(w, skip=3), check=_check_must_change,
                                             second=lambda w: cloud_member(w, skip=4)),
    "password-never-expires": ActionExample(lambda w: cloud_member(w, skip=5), check=_check_never_expires,
                                            second=lambda w: cloud_member(w, skip=4)),
    "password-expires": ActionExample(never_expiring, check=_check_expires,
                                      second=lambda w: never_expiring(w, skip=1)),
}  # fmt: skip
