"""Run code under the production settings (DJANGO_ENV=production with the variables production requires) in
a fresh interpreter: settings are read once per process, so the test process's own cannot be reused."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "portal.example.com"

# Serves /healthz/live over "HTTPS" through the whole middleware stack and reports the settings and headers
# the browser would see. /healthz/live needs neither a database nor collected static files.
_PROBE = f"""
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

response = Client(HTTP_HOST={HOST!r}).get("/healthz/live", secure=True)
insecure = Client(HTTP_HOST={HOST!r}).get("/tenants/")
print(json.dumps({{
    "status": response.status_code,
    "headers": dict(response.headers),
    "insecure_status": insecure.status_code,
    "insecure_location": insecure.headers.get("Location", ""),
    "settings": {{name: getattr(settings, name) for name in (
        "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT", "X_FRAME_OPTIONS", "SANDBOX_ENABLED",
        "LOG_FORMAT", "CONTENT_SECURITY_POLICY")}},
}}, default=str))
"""


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "CELERY_", "DATABASE_", "REDIS_", "LOG_", "CIPPUSERS_", "SECURE_", "STATICFILES_")
        )
        and key not in ("SECRET_KEY", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEY", "DEBUG", "SANDBOX_ENABLED")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cippusers.settings",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:6379/9",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CIPPUSERS_VAR_DIR=str(tmp_path / "var"),
    )
    env.update(overrides)
    return env


def probe(tmp_path: Path, **overrides: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT, env=production_env(tmp_path, **overrides), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_manage(tmp_path: Path, *args: str, **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=production_env(tmp_path, **overrides), capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def unsafe_csp_sources(policy: str) -> int:
    """How many sources in a CSP header would let inline or eval'd script/style run."""
    return sum(policy.count(word) for word in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"))


def hsts_max_age(header: str) -> int:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return int(value)
    return 0


def deploy_check_issues(output: str) -> list[str]:
    """The issue lines of ``manage.py check`` ("?: (security.W004) ..." / "app.Model: (models.E001) ...")."""
    return [line for line in output.splitlines() if ": (" in line and ")" in line.split(": (", 1)[1]]
