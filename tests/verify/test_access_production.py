"""make verify, part access (production configuration): what a browser and ``check --deploy`` see when the
portal runs with DJANGO_ENV=production and only the variables production requires.

Each test records its figure with the bound and asserts the same bound."""

from __future__ import annotations

import pytest

from tests.core.production_env import (
    deploy_check_issues,
    hsts_max_age,
    probe,
    run_manage,
    unsafe_csp_sources,
)

HSTS_YEAR = 31536000


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    return probe(tmp_path_factory.mktemp("production"))


def test_production_cookies_secure(production, figure):
    values = production["settings"]
    secure = int(bool(values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]))
    figure("access.production_cookies_secure", secure, must_be=1,
           detail="session and CSRF cookies marked Secure under DJANGO_ENV=production")  # fmt: skip
    assert secure == 1


def test_production_hsts_seconds(production, figure):
    seconds = hsts_max_age(production["headers"].get("Strict-Transport-Security", ""))
    figure("access.production_hsts_seconds", seconds, "s", at_least=HSTS_YEAR,
           detail="max-age of the Strict-Transport-Security header on an HTTPS response")  # fmt: skip
    assert seconds >= HSTS_YEAR


def test_production_csp_inline(production, figure):
    policy = production["headers"].get("Content-Security-Policy")
    # No policy at all lets inline script run: count that as one permission.
    count = 1 if not policy else unsafe_csp_sources(policy)
    figure("access.production_csp_inline", count, must_be=0,
           detail="'unsafe-inline'/'unsafe-eval'/'unsafe-hashes' in the served CSP header")  # fmt: skip
    assert count == 0
    assert production["headers"].get("X-Frame-Options") == "DENY"


def test_check_deploy_warnings(tmp_path, figure):
    done = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    issues = deploy_check_issues(done.stdout + done.stderr)
    # A crash (exit status without issue lines) counts as one issue rather than as a clean check.
    count = len(issues) or (0 if done.returncode == 0 else 1)
    figure("access.check_deploy_warnings", count, must_be=0,
           detail="manage.py check --deploy --fail-level WARNING with production env")  # fmt: skip
    assert count == 0, done.stdout + done.stderr
