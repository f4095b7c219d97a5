"""Creating and editing users: Add user, LiveLink prefill, Invite guest, Edit user, bulk import.

``types`` holds the plain data the forms hand to the flows; ``rules`` the field rules Graph enforces
(shared by the single form, the live checks and the CSV importer, so they cannot drift); ``steps`` the
Graph / Exchange steps each flow is made of, every one reporting its own result.
"""
