"""Settings for the test suite: the production code unchanged, plus the in-process sandbox transport.

``http://sandbox.test`` is where tests reach the sandbox: requests to it are served by the in-process
WSGI adapter (real HTTP semantics, no socket), exactly as a live server would answer.
"""

import os

os.environ.setdefault("CIPPUSERS_TESTING", "true")

from .settings import *  # noqa: E402,F403

SANDBOX_ENABLED = True
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
