"""Imports every module that registers actions. Add a line here for a new action module."""

from users.research import action as research_action  # noqa: F401  (Research compromised account)

from . import (
    account,  # noqa: F401
    auth_method_remove,  # noqa: F401
    group_remove,  # noqa: F401
    groups,  # noqa: F401
    licences,  # noqa: F401
    mail,  # noqa: F401
    mail_forwarding,  # noqa: F401
    mobile_devices,  # noqa: F401
    onedrive,  # noqa: F401
    password,  # noqa: F401
    password_options,  # noqa: F401
    role_remove,  # noqa: F401
    security,  # noqa: F401
)
