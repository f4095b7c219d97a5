"""The sandbox stays out of production: with SANDBOX_ENABLED off (the production default) its app is not
installed, so `migrate` creates none of its tables, no URL or WSGI wrapper of it is mounted, and no
production module imports it. Each check runs in a fresh interpreter under the production settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .production_env import ROOT, production_env

PRODUCTION_PACKAGES = ("cippusers", "users", "tenants", "graph")
SANDBOX = "graph.sandbox"

# Imports every module of the production packages (graph/sandbox excepted) plus the URLconf and the WSGI
# application, then reports which sandbox modules got loaded and what the URL resolver makes of /sandbox/.
_IMPORT_EVERYTHING = f"""
import importlib, json, sys, traceback
from pathlib import Path
import django
django.setup()
from django.urls import Resolver404, resolve

root = Path({str(ROOT)!r})
imported, failed = [], {{}}
for package in {PRODUCTION_PACKAGES!r}:
    for file in sorted((root / package).rglob("*.py")):
        name = ".".join(file.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        if name == {SANDBOX!r} or name.startswith({SANDBOX + "."!r}):
            continue
        try:
            importlib.import_module(name)
            imported.append(name)
        except Exception:
            failed[name] = traceback.format_exc(limit=3)
try:
    resolve("/sandbox/graph/v1.0/users")
    sandbox_url = True
except Resolver404:
    sandbox_url = False
from cippusers.wsgi import application
print(json.dumps({{
    "imported": imported,
    "failed": failed,
    "sandbox_modules": sorted(m for m in sys.modules if m == {SANDBOX!r} or m.startswith({SANDBOX + "."!r})),
    "sandbox_url": sandbox_url,
    "wsgi": f"{{application.__module__}}.{{type(application).__qualname__}}",
}}))
"""


def _import_everything(tmp_path: Path, **overrides: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        cwd=ROOT, env=production_env(tmp_path, **overrides), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# Runs management commands one after another in one interpreter and reports the tables after each.
_COMMANDS = """
import io, json, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection

report = []
for args in json.loads(sys.argv[1]):
    out = io.StringIO()
    call_command(*args, stdout=out)
    report.append({"output": out.getvalue(), "tables": connection.introspection.table_names()})
print(json.dumps(report))
"""


def _commands(tmp_path: Path, *commands: list[str], **overrides: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", _COMMANDS, json.dumps(commands)],
        cwd=ROOT, env=production_env(tmp_path, **overrides), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sandbox_tables(tables: list[str]) -> list[str]:
    return [name for name in tables if name.startswith("sandbox")]


def test_no_production_module_loads_the_sandbox(tmp_path):
    report = _import_everything(tmp_path)
    assert report["failed"] == {}
    # Every layer was imported (the check is not vacuous): settings, URLs, views, models, services, tasks.
    assert {"cippusers.urls", "cippusers.wsgi", "tenants.views", "users.tasks", "graph.client"} <= set(
        report["imported"]
    )
    assert len(report["imported"]) > 150
    assert report["sandbox_modules"] == []
    assert report["sandbox_url"] is False
    assert report["wsgi"] == "django.core.handlers.wsgi.WSGIHandler"


def test_a_training_instance_mounts_the_sandbox(tmp_path):
    # SANDBOX_ENABLED=true in production (a training instance): the same script sees the app, its URLs and
    # its WSGI wrapper, so the checks above would notice any of them.
    report = _import_everything(tmp_path, SANDBOX_ENABLED="true")
    assert "graph.sandbox.apps" in report["sandbox_modules"]
    assert report["sandbox_url"] is True
    assert report["wsgi"].startswith("graph.sandbox.switches.")


def test_production_migrate_creates_no_sandbox_table(tmp_path):
    migrated, shown = _commands(tmp_path, ["migrate", "--no-input"], ["showmigrations"])
    assert {"tenants_partnerconnection", "users_directoryuser", "auth_user"} <= set(migrated["tables"])
    assert _sandbox_tables(migrated["tables"]) == []
    apps = {line for line in shown["output"].splitlines() if line and not line.startswith(" ")}
    assert "tenants" in apps and "sandbox" not in apps

    # A database that has them (a training instance, or one migrated before the sandbox became optional)
    # loses them with `migrate sandbox zero`, as the README says.
    forward, zero = ["migrate", "sandbox", "--no-input"], ["migrate", "sandbox", "zero", "--no-input"]
    created, removed = _commands(tmp_path, forward, zero, SANDBOX_ENABLED="true")
    assert len(_sandbox_tables(created["tables"])) >= 30
    assert _sandbox_tables(removed["tables"]) == []


def test_production_sources_do_not_name_the_sandbox_app():
    # Apart from settings (which installs the app when SANDBOX_ENABLED) and the demo runner, production code
    # reaches the sandbox only through the app's own hooks (AppConfig url_prefix/urlconf, wrap_wsgi).
    allowed = {
        "cippusers/settings.py",
        "cippusers/test_settings.py",
        "cippusers/management/commands/rundemo.py",
    }
    naming = []
    for package in PRODUCTION_PACKAGES:
        for file in (ROOT / package).rglob("*.py"):
            relative = file.relative_to(ROOT).as_posix()
            if relative.startswith("graph/sandbox/") or relative in allowed:
                continue
            if SANDBOX in file.read_text(encoding="utf-8"):
                naming.append(relative)
    assert naming == []
