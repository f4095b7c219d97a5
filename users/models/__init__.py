from .audit import AuditEntry
from .directory import DirectorySyncState, DirectoryUser, DirectoryUserLicense, TenantSku
from .jobs import Job, JobItem
from .preferences import TechnicianPreference

__all__ = [
    "AuditEntry",
    "DirectorySyncState",
    "DirectoryUser",
    "DirectoryUserLicense",
    "Job",
    "JobItem",
    "TechnicianPreference",
    "TenantSku",
]
