from .audit import AuditEntry
from .directory import DirectorySyncState, DirectoryUser, DirectoryUserLicense, TenantSku
from .preferences import TechnicianPreference

__all__ = [
    "AuditEntry",
    "DirectorySyncState",
    "DirectoryUser",
    "DirectoryUserLicense",
    "TechnicianPreference",
    "TenantSku",
]
