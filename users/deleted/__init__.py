"""Deleted users (/users/deleted/): the users in a tenant's deleted items, restorable for 30 days; restore
and permanent deletion. See reading.py (the list) and operations.py (restore, delete permanently)."""
