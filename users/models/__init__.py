from .audit import AuditEntry
from .bulkadd import BulkImport, BulkImportRow
from .directory import DirectorySyncState, DirectoryUser, DirectoryUserLicense, TenantSku
from .jobs import Job, JobItem
from .preferences import TechnicianPreference
from .research import CompromiseReport

__all__ = [
    "AuditEntry",
    "BulkImport",
    "BulkImportRow",
    "CompromiseReport",
    "DirectorySyncState",
    "DirectoryUser",
    "DirectoryUserLicense",
    "Job",
    "JobItem",
    "TechnicianPreference",
    "TenantSku",
]
