"""Settings for ``python -m verify.load``: the project's settings as production runs them (DEBUG off from the
environment, whitenoise's compressed manifest storage, PostgreSQL + Redis from DATABASE_URL/REDIS_URL),
with two differences that keep the measurement about the portal:

* static files are collected into a folder of the load part's own (``var/verify-load-static``), so the run
  neither needs nor overwrites the repository's ``staticfiles/``;
* password hashing is cheap (as in bench/sandbox_settings.py): each technician signs in once, and 50 PBKDF2
  checks of 1,000,000 iterations (about a second of CPU each on the 2-core CI machine) would measure the
  hasher instead of the pages the technicians use afterwards.
"""

from bench.sandbox_settings import *  # noqa: F403
from cippusers.settings import VAR_DIR

STATIC_ROOT = VAR_DIR / "verify-load-static"
