"""Settings for the gunicorn that serves the sandbox in the bulk add benchmark: the production settings,
with the sandbox's password hashing made cheap.

Every user the sandbox creates gets its password hashed with Django's PBKDF2 (1,000,000 iterations, about
half a second of CPU here). Microsoft's own cost is inside the 50 ms of added latency; left in, the hashing
would make both the import and its peer measure the emulator's CPU instead of the requests they make.
"""

from cippusers.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
