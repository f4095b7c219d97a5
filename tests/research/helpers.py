"""Running a research or a remediation end to end in tests (Celery is eager; on-commit callbacks run)."""

from __future__ import annotations


def research(world, tenant, sandbox_user, technician, capture, *, window_days: int = 7):
    """Gather a report for ``sandbox_user``; returns (report, job)."""
    from users.models import CompromiseReport
    from users.research import tasks

    row = world.cache(sandbox_user)
    with capture(execute=True):
        job = tasks.start_research(tenant, row.user_id, row.user_principal_name, row.display_name,
                                   window_days=window_days, technician=technician, source_ip="203.0.113.9")  # fmt: skip
    job.refresh_from_db()
    return CompromiseReport.objects.get(tenant=tenant, user_id=row.user_id), job


def flags(report) -> dict[str, set[str]]:
    """{section: {finding codes}} of what the verdict says looks malicious."""
    return {s["key"]: {f["code"] for f in s["findings"]} for s in report.verdict["malicious"]}


def unavailable(report) -> dict[str, str]:
    return {s["key"]: s["reason"] for s in report.verdict["unavailable"]}
