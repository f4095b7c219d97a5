"""make verify, part "faults": the sandbox injects throttling, 5xx, read timeouts and dropped connections
(10 % / 10 % / 5 % / 5 %, seeded for repeatability) while the mission's flows run through the web views as
an Admin technician: add user, every registered action, a bulk add of 200 rows, research + remediation.
Every flow must end in the sandbox state its page reports, or in a failure the technician sees (saying
"outcome unknown" when a write's answer was lost); no Job may be left unfinished and nothing done twice.

The flows are separate tests (each gets a fresh seeded sandbox); the last test records the figures of all.
Retry waits are capped at 50 ms: the retry decisions are the same, the part just does not sleep them out.
"""

from __future__ import annotations

import os

import pytest

from tests.actions.conftest import action_world  # noqa: F401 - fixtures reused as they are
from tests.actions.examples import EXAMPLES
from tests.bulkadd.conftest import bulk_world, csv_bytes, user_rows  # noqa: F401
from tests.research.conftest import research_world  # noqa: F401
from users.actions import registry

from . import faults_flows as flows
from .faults_kit import TALLY, admin_client

ACTION_KEYS = [action.key for action in registry.all_actions()]
# Seeds make a run repeatable; FAULTS_SEED_BASE shifts them all to explore other fault sequences.
BASE = int(os.environ.get("FAULTS_SEED_BASE", "0"))
# Two runs per action (a fresh sandbox each), each with its own seed: the seeds vary the faults met.
ACTION_RUNS = [(key, BASE + 11 + n + 500 * run) for run in range(2) for n, key in enumerate(ACTION_KEYS)]
ADD_USER_SEEDS = tuple(range(BASE + 101, BASE + 109))
BULK_SEED = BASE + 7
RESEARCH_SEEDS = (BASE + 21, BASE + 22)


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.GRAPH_MAX_RETRY_AFTER_SECONDS = 0.05


def test_add_user_under_faults(sandbox_world, sandbox_connection, django_user_model):
    from tenants.models import Tenant
    from tenants.services import discover_customers
    from users.sync import sync_tenant

    # As the portal has it before anyone adds a user: discovered, directory and licences synced.
    discover_customers(sandbox_connection)
    tenant = Tenant.objects.get(display_name="Northwind Traders")
    sync_tenant(tenant, full=True, sign_ins=False)
    sandbox = next(t for t in sandbox_world if t.display_name == "Northwind Traders")
    group = sandbox.groups.get(display_name="SG-VPN-Users")
    sku = sandbox.skus.get(sku_part_number="SPB")
    sku.prepaid_enabled += len(ADD_USER_SEEDS)
    sku.save(update_fields=["prepaid_enabled"])
    client = admin_client(django_user_model)
    for seed in ADD_USER_SEEDS:
        flows.add_user(client, tenant, sandbox, seed, group, sku)


@pytest.mark.parametrize(("key", "seed"), ACTION_RUNS)
def test_action_under_faults(key, seed, action_world, django_user_model, django_capture_on_commit_callbacks):  # noqa: F811
    assert key in EXAMPLES, f"no worked example for {key} in tests/actions/examples*.py"
    client = admin_client(django_user_model)
    flows.run_action(client, action_world, key, seed, django_capture_on_commit_callbacks)


def test_bulk_add_of_200_under_faults(bulk_world, django_user_model, django_capture_on_commit_callbacks):  # noqa: F811
    rows = user_rows(200, bulk_world.domain, licences="SPB", groups="SG-VPN-Users")
    client = admin_client(django_user_model)
    flows.bulk_add(client, bulk_world, rows, csv_bytes(rows), BULK_SEED, django_capture_on_commit_callbacks)


@pytest.mark.parametrize("seed", RESEARCH_SEEDS)
def test_research_and_remediation_under_faults(seed, research_world, django_user_model,  # noqa: F811
                                               django_capture_on_commit_callbacks):  # fmt: skip
    client = admin_client(django_user_model)
    flows.research_and_remediate(client, research_world, "fabrikam", seed, django_capture_on_commit_callbacks)


def test_faults_figures(figure):
    """Runs last (file order): the figures of every flow above, and their bounds."""
    detail = "; ".join(TALLY.problems[:12])
    figure("faults.flows", TALLY.flows, detail="flows run with faults on")
    injected = sum(TALLY.injected.values())
    figure("faults.injected", injected, detail="faults the sandbox injected")
    for kind, name in (("429", "429"), ("5xx", "5xx"), ("timeout", "timeout"), ("drop", "drop")):
        figure(f"faults.injected_{name}", TALLY.injected[kind])
    figure(
        "faults.clear_failures",
        TALLY.clear_failures,
        detail="flows/targets ending in a failure shown to the technician",
    )
    figure("faults.stuck_jobs", TALLY.stuck_jobs, must_be=0, detail=detail)
    figure("faults.duplicates", TALLY.duplicates, must_be=0, detail=detail)
    figure("faults.wrong_state", TALLY.wrong_state, must_be=0, detail=detail)
    assert TALLY.flows > 0 and injected > 0
    assert TALLY.injected["timeout"] > 0 and TALLY.injected["drop"] > 0
    assert (TALLY.stuck_jobs, TALLY.duplicates, TALLY.wrong_state) == (0, 0, 0), "\n".join(TALLY.problems)
