"""Settings for the test suite: the production code unchanged, plus the in-process sandbox transport.

``http://sandbox.test`` is where tests reach the sandbox: requests to it are served by the in-process
WSGI adapter (real HTTP semantics, no socket), exactly as a live server would answer.
"""

import os

# Through the environment so the servers and workers tests start in child processes serve static files
# without `collectstatic` too.
os.environ.setdefault("STATICFILES_MANIFEST", "false")

from .settings import *  # noqa: E402,F403
from .settings import INSTALLED_APPS  # noqa: E402

SANDBOX_ENABLED = True
if "graph.sandbox" not in INSTALLED_APPS:  # SANDBOX_ENABLED=false in the environment
    INSTALLED_APPS = [*INSTALLED_APPS, "graph.sandbox"]
# The in-process sandbox serves each request on the calling thread's database connection, inside the test's
# transaction: a worker thread's connection would not see the test's rows, so everything runs one at a time.
# Tests of the parallel paths raise these themselves.
ACTIONS_RUN_CONCURRENCY = 1
BULKADD_CONCURRENCY = 1
RESEARCH_CONCURRENCY = 1
DELETED_USERS_CONCURRENCY = 1
SANDBOX_BASE_URL = "http://sandbox.test/sandbox"
# Every Graph exchange in the suite is also validated against Microsoft's contract (tests/contract_transport).
GRAPH_TRANSPORT_ADAPTERS = {
    "http://sandbox.test/": "tests.contract_transport.ContractCheckingSandboxAdapter",
    "https://sandbox.test/": "tests.contract_transport.ContractCheckingSandboxAdapter",
}
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
GRAPH_MAX_RETRY_AFTER_SECONDS = 5
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
