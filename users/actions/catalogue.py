"""Imports every module that registers actions. Add a line here for a new action module."""

from . import (
    account,  # noqa: F401
    groups,  # noqa: F401
    mail,  # noqa: F401
    onedrive,  # noqa: F401
    password,  # noqa: F401
    security,  # noqa: F401
)
