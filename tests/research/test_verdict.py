"""assemble() and the verdict on crafted outcomes: malicious / normal / could not check, never mixed up."""

from __future__ import annotations

from users.research.assemble import assemble
from users.research.sources import SECTION_KEYS

from .crafted import LAGOS, SINCE, UNTIL, normal_week, rule, sign_in


def ok(key, data):
    return {"key": key, "title": key, "status": "ok", "reason": "", "data": data,
            "count": len(data) if isinstance(data, list) else 1}  # fmt: skip


def missing(key, reason):
    return {"key": key, "title": key, "status": "unavailable", "reason": reason, "data": None, "count": 0}


def clean_outcomes() -> dict:
    return {
        "profile": ok("profile", {"account_enabled": True, "usage_location": "GB", "last_pwd_change": ""}),
        "organization": ok("organization", {"country": "GB", "domains": ["contoso.com"]}),
        "sign_in_baseline": ok("sign_in_baseline", [sign_in(24 * 10, ip="81.2.69.7")]),
        "sign_ins": ok("sign_ins", normal_week()),
        "inbox_rules": ok("inbox_rules", [rule("Newsletters", move_to="Newsletters")]),
        "mailbox_audit": ok("mailbox_audit", []),
        "forwarding": ok("forwarding", {"forwarding_smtp": "", "forwarding_address": "", "deliver_and_forward": False}),
        "directory_audits": ok("directory_audits", []),
        "auth_methods": ok("auth_methods", {"methods": [], "events": [], "last_pwd_change": "", "events_unavailable": ""}),
        "oauth_grants": ok("oauth_grants", []),
        "app_roles": ok("app_roles", []),
        "new_apps": ok("new_apps", []),
        "sent_mail": ok("sent_mail", []),
        "risk": ok("risk", {"risk_level": "none", "risk_state": "none", "risk_detail": "none", "updated": ""}),
    }  # fmt: skip


def judge(outcomes):
    return assemble(outcomes, tenant=None, user_id="u1", upn="megan@contoso.com", since=SINCE, until=UNTIL)


def test_everything_read_nothing_flagged_is_normal():
    sections, verdict = judge(clean_outcomes())
    assert verdict["overall"] == "normal" and verdict["malicious"] == [] and verdict["unavailable"] == []
    assert [s["key"] for s in verdict["normal"]] == list(SECTION_KEYS)
    assert sections["context"]["usual_countries"] == ["GB"]
    assert {c["country"] for c in sections["countries"]} == {"GB"}


def test_a_source_that_could_not_be_read_is_never_normal():
    outcomes = clean_outcomes()
    outcomes["mailbox_audit"] = missing("mailbox_audit", "unified audit log is off")
    _sections, verdict = judge(outcomes)
    assert verdict["overall"] == "incomplete"
    assert verdict["unavailable"] == [{"key": "mailbox_audit", "title": "Mailbox changes",
                                       "reason": "unified audit log is off"}]  # fmt: skip
    assert "mailbox_audit" not in {s["key"] for s in verdict["normal"]}


def test_flags_make_it_malicious_and_the_inputs_are_not_changed():
    outcomes = clean_outcomes()
    outcomes["sign_ins"] = ok("sign_ins", normal_week() + [sign_in(5, LAGOS, ip="102.89.33.7")])
    outcomes["risk"] = missing("risk", "needs Entra ID P2")
    sections, verdict = judge(outcomes)
    assert verdict["overall"] == "malicious"
    assert [s["key"] for s in verdict["malicious"]] == ["sign_ins"]
    codes = {f["code"] for f in verdict["malicious"][0]["findings"]}
    # Lagos, then London three hours later: also impossible travel.
    assert codes == {"new_country", "unfamiliar_ip", "impossible_travel"} and verdict["flag_count"] == 3
    assert "flags" not in outcomes["sign_ins"]["data"][-1]  # assemble works on a copy
    assert any(f["code"] == "new_country" for f in sections["sources"]["sign_ins"]["data"][-1]["flags"])
    assert sections["timeline"][0]["flagged"] and sections["timeline"][0]["section_title"] == "Sign-ins"
    countries = {c["country"]: c for c in sections["countries"]}
    assert countries["NG"]["flagged"] and not countries["NG"]["usual"] and countries["NG"]["ok"] == 1
    assert countries["GB"]["usual"] and countries["GB"]["failed"] == 1


def test_nothing_secret_is_kept():
    outcomes = clean_outcomes()
    outcomes["mailbox_audit"] = ok("mailbox_audit", [{"when": "2026-11-19T10:00:00Z", "operation": "Set-Mailbox",
                                                      "parameters": {"Password": "Hunter2!", "Identity": "megan"}}])  # fmt: skip
    sections, _verdict = judge(outcomes)
    assert "Hunter2!" not in str(sections)
