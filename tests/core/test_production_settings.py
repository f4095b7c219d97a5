"""The production configuration as a browser and an operator meet it: loaded in a fresh interpreter with
DJANGO_ENV=production and only the variables production requires."""

from __future__ import annotations

import pytest

from .production_env import deploy_check_issues, hsts_max_age, probe, run_manage, unsafe_csp_sources


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    return probe(tmp_path_factory.mktemp("production"))


def test_security_headers_as_served(production):
    headers = production["headers"]
    assert production["status"] == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert hsts_max_age(headers["Strict-Transport-Security"]) >= 31536000
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    policy = headers["Content-Security-Policy"]
    assert unsafe_csp_sources(policy) == 0
    assert (
        "script-src 'self'" in policy and "style-src 'self'" in policy and "frame-ancestors 'none'" in policy
    )
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_plain_http_is_redirected_to_https(production):
    assert production["insecure_status"] == 301
    assert production["insecure_location"].startswith("https://")


def test_cookies_debug_sandbox_and_logs(production):
    values = production["settings"]
    assert (
        values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    )
    assert values["DEBUG"] is False and values["SANDBOX_ENABLED"] is False
    assert values["LOG_FORMAT"] == "json"


def test_check_deploy_is_clean(tmp_path):
    done = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert deploy_check_issues(done.stdout + done.stderr) == []


def test_check_deploy_issue_lines_are_counted(tmp_path):
    # The counter must see real issues, or "0 warnings" would prove nothing: turn HSTS and cookies off.
    done = run_manage(tmp_path, "check", "--deploy", SECURE_HSTS_SECONDS="0", SESSION_COOKIE_SECURE="false")
    issues = deploy_check_issues(done.stdout + done.stderr)
    assert any("security.W004" in line for line in issues) and any("security.W012" in line for line in issues)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"CELERY_VISIBILITY_TIMEOUT": "3600"}, "must exceed CELERY_TASK_TIME_LIMIT"),
        ({"CELERY_TASK_TIME_LIMIT": "9000"}, "must exceed CELERY_TASK_TIME_LIMIT"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "3600"}, "must be below CELERY_TASK_TIME_LIMIT"),
        ({"LOG_FORMAT": "xml"}, "use json or plain"),
    ],
)
def test_unsafe_celery_and_log_settings_stop_start_up(tmp_path, overrides, message):
    done = run_manage(tmp_path, "check", **overrides)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr
