"""From the sources' outcomes to the stored report: rule context, flags, verdict, timeline and countries.

``assemble(outcomes, ...)`` is pure apart from reading the tenant's known domains, so the whole judgement of
a report can be re-run on stored outcomes (tests do that with crafted outcomes).
"""

from __future__ import annotations

import copy
from datetime import datetime

from users.audit import strip_secrets

from . import timeline, verdict
from .gather import OK
from .rules import RuleContext, apply_rules, domain_of
from .rules_signins import usual_countries


def _data(outcomes: dict, key: str):
    section = outcomes.get(key) or {}
    return section.get("data") if section.get("status") == OK else None


def internal_domains(tenant, outcomes: dict, upn: str) -> set[str]:
    """The tenant's verified domains as Graph says now, plus those this portal knows, plus the user's own."""
    domains = set((_data(outcomes, "organization") or {}).get("domains") or [])
    if tenant is not None:
        from tenants.models import TenantDomain

        domains |= {
            d.lower() for d in TenantDomain.objects.filter(tenant=tenant).values_list("name", flat=True)
        }
        domains |= {d.lower() for d in (tenant.default_domain, tenant.initial_domain) if d}
    if domain_of(upn):
        domains.add(domain_of(upn))
    return {d for d in domains if d}


def rule_context(tenant, outcomes: dict, *, user_id: str, upn: str, usage_location: str,
                 since: datetime, until: datetime) -> RuleContext:  # fmt: skip
    profile = _data(outcomes, "profile") or {}
    organization = _data(outcomes, "organization") or {}
    baseline = _data(outcomes, "sign_in_baseline")
    return RuleContext(
        since=since,
        until=until,
        usage_location=profile.get("usage_location") or usage_location or "",
        tenant_country=organization.get("country") or "",
        internal_domains=internal_domains(tenant, outcomes, upn),
        baseline_sign_ins=[r for r in baseline if r.get("ok")] if baseline else None,
        upn=upn,
        user_id=user_id,
    )


def assemble(outcomes: dict, *, tenant, user_id: str, upn: str, usage_location: str = "",
             since: datetime, until: datetime) -> tuple[dict, dict]:  # fmt: skip
    """(sections, verdict) ready to store. ``outcomes`` is not modified."""
    sources = copy.deepcopy(outcomes)
    ctx = rule_context(tenant, sources, user_id=user_id, upn=upn, usage_location=usage_location,
                       since=since, until=until)  # fmt: skip
    findings = apply_rules(sources, ctx)
    summary = verdict.build(sources, findings)
    sign_ins = _data(sources, "sign_ins") or []
    usual, how = usual_countries(sign_ins, ctx)
    events, left_out = timeline.build_timeline(sources)
    sections = {
        "sources": sources,
        "timeline": events,
        "timeline_left_out": left_out,
        "countries": timeline.build_countries(sources, usual),
        "context": {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "usual_countries": sorted(usual),
            "usual_how": how,
            "internal_domains": sorted(ctx.internal_domains),
        },
    }
    return strip_secrets(sections), strip_secrets(summary)
