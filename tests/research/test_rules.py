"""The indicator rules on crafted data: each planted indicator is flagged, an ordinary week is not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from users.research import rules_identity, rules_mail, rules_signins
from users.research.rules import FLAGGING, HIGH, MEDIUM, NOTE, parse_when

from .crafted import LAGOS, LONDON, MANCHESTER, PARIS, SINCE, UNTIL, at, context, normal_week, rule, sign_in


def codes(findings, *, flagging=True):
    return sorted({f.code for f in findings if (f.severity in FLAGGING) == flagging})


# --- sign-ins -----------------------------------------------------------------------------------------------


def test_haversine_known_distances():
    london_paris = rules_signins.haversine_km(51.5072, -0.1276, 48.8566, 2.3522)
    assert 340 < london_paris < 345  # 343.5 km great-circle
    london_lagos = rules_signins.haversine_km(51.5072, -0.1276, 6.5244, 3.3792)
    assert 5000 < london_lagos < 5025  # 5,012 km
    assert rules_signins.haversine_km(10, 20, 10, 20) == 0


def test_an_ordinary_week_flags_nothing():
    rows = normal_week()
    findings = rules_signins.check_sign_ins(rows, context())
    assert codes(findings) == []
    assert not any(f["severity"] in FLAGGING for row in rows for f in row.get("flags", []))


def test_new_country_flagged_on_an_unmanaged_device_only():
    rows = normal_week() + [sign_in(5, LAGOS, ip="102.89.33.7")]
    findings = rules_signins.check_sign_ins(rows, context())
    new = [f for f in findings if f.code == "new_country"]
    assert len(new) == 1 and new[0].severity == HIGH and "NG" in new[0].title
    assert any(f["code"] == "new_country" for f in rows[-1]["flags"])
    # The same trip on the user's managed laptop is travel: a note, not a flag.
    travel = normal_week() + [sign_in(5, PARIS, ip="90.84.144.3", managed=True)]
    findings = rules_signins.check_sign_ins(travel, context())
    assert "new_country" not in codes(findings) and "travel" in codes(findings, flagging=False)


def test_countries_seen_before_the_window_are_usual():
    rows = normal_week() + [sign_in(5, PARIS, ip="90.84.144.3")]
    baseline = context().baseline_sign_ins + [sign_in(24 * 20, PARIS, ip="90.84.144.3")]
    findings = rules_signins.check_sign_ins(rows, context(baseline_sign_ins=baseline))
    assert "new_country" not in codes(findings)


def test_without_any_baseline_the_most_used_country_is_home():
    rows = normal_week() + [sign_in(5, LAGOS, ip="102.89.33.7")]
    ctx = context(usage_location="", tenant_country="", baseline_sign_ins=None)
    usual, how = rules_signins.usual_countries(rows, ctx)
    assert usual == {"GB"} and "most" in how
    assert "new_country" in codes(rules_signins.check_sign_ins(rows, ctx))


def test_impossible_travel_between_consecutive_successful_sign_ins():
    # London, then Lagos (5,000 km) 70 minutes later: about 4,300 km/h.
    rows = [sign_in(3, LONDON, ip="81.2.69.10"), sign_in(3 - 70 / 60, LAGOS, ip="102.89.33.7")]
    findings = rules_signins.check_sign_ins(rows, context())
    travel = [f for f in findings if f.code == "impossible_travel"]
    assert len(travel) == 1 and travel[0].severity == HIGH
    assert "km/h" in travel[0].detail and "London, GB" in travel[0].detail and "Lagos, NG" in travel[0].detail
    assert all(any(f["code"] == "impossible_travel" for f in r["flags"]) for r in rows)


@pytest.mark.parametrize(
    "first, second, minutes, expected",
    [
        (LONDON, PARIS, 30, False),  # 343 km: under the distance where geolocation error is ruled out
        (LONDON, LAGOS, 8 * 60, False),  # 5,000 km in 8 hours: a flight
        (LONDON, LAGOS, 4 * 60, True),  # 1,250 km/h: faster than an airliner
        (MANCHESTER, LAGOS, 0, True),  # the same minute
    ],
)
def test_impossible_travel_thresholds(first, second, minutes, expected):
    rows = [sign_in(10, first), sign_in(10 - minutes / 60, second, ip="102.89.33.7", managed=True)]
    flagged = "impossible_travel" in codes(rules_signins.check_sign_ins(rows, context()))
    assert flagged is expected


def test_failed_sign_ins_do_not_count_as_travel_or_new_country():
    rows = [sign_in(3, LONDON), sign_in(2.9, LAGOS, ip="102.89.33.7", ok=False),
            sign_in(2.8, LAGOS, ip="102.89.33.8", ok=False)]  # fmt: skip
    findings = rules_signins.check_sign_ins(rows, context())
    assert codes(findings) == []
    assert "failed_abroad" in codes(findings, flagging=False)


def test_legacy_authentication():
    assert rules_signins.is_legacy("IMAP4") and rules_signins.is_legacy("Exchange ActiveSync")
    assert rules_signins.is_legacy("Authenticated SMTP") and rules_signins.is_legacy("Other clients")
    assert not rules_signins.is_legacy("Browser") and not rules_signins.is_legacy(
        "Mobile Apps and Desktop clients"
    )
    assert not rules_signins.is_legacy("")
    rows = normal_week() + [sign_in(6, ip="81.2.69.10", client="IMAP4"), sign_in(7, ip="81.2.69.10", client="POP3",
                                                                             ok=False)]  # fmt: skip
    findings = rules_signins.check_sign_ins(rows, context())
    legacy = [f for f in findings if f.code == "legacy_auth"]
    assert len(legacy) == 1 and legacy[0].severity == MEDIUM and "IMAP4" in legacy[0].title
    assert "legacy_attempt" in codes(findings, flagging=False)


def test_unfamiliar_ip_in_the_home_country():
    # A VPN exit in the user's own country: the only sign is the network nobody saw before.
    rows = normal_week() + [sign_in(4, LONDON, ip="185.220.101.4")]
    findings = rules_signins.check_sign_ins(rows, context())
    assert codes(findings) == ["unfamiliar_ip"]
    assert "185.220.101.4" in findings[0].title
    # The home network with another last octet is the same network.
    rows = normal_week() + [sign_in(4, LONDON, ip="81.2.69.200")]
    assert codes(rules_signins.check_sign_ins(rows, context())) == []


def test_ip_prefix():
    assert rules_signins.ip_prefix("81.2.69.10") == "81.2.69.0/24"
    assert rules_signins.ip_prefix("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert rules_signins.ip_prefix("not an ip") == "not an ip"


def test_risky_sign_in_and_events_outside_the_window_ignored():
    rows = normal_week() + [sign_in(9, ip="81.2.69.10", risk="high")]
    assert "risky_sign_in" in codes(rules_signins.check_sign_ins(rows, context()))
    old = [sign_in(24 * 9, LAGOS, ip="102.89.33.7")]  # before the window
    assert codes(rules_signins.check_sign_ins(old, context())) == []


def test_parse_when_handles_graph_and_exchange_forms():
    assert parse_when("2026-11-20T12:00:00Z") == UNTIL
    assert parse_when("2026-11-20T12:00:00.1234567Z") == UNTIL + timedelta(microseconds=123456)
    assert parse_when("2026-11-20T13:00:00+01:00") == UNTIL
    assert parse_when("/Date(1795176000000)/") == UNTIL
    assert parse_when("") is None and parse_when("yesterday") is None


# --- inbox rules --------------------------------------------------------------------------------------------


def test_forwarding_rule_to_an_outside_address_is_high():
    rules = [
        rule("Invoices", forward_to=["attacker@evil.example"]),
        rule("Team", forward_to=["boss@contoso.com"]),
    ]
    findings = rules_mail.check_inbox_rules(rules, context())
    by_name = {f.title: f for f in findings}
    assert by_name["Inbox rule “Invoices”"].severity == HIGH
    assert "attacker@evil.example" in by_name["Inbox rule “Invoices”"].detail
    assert by_name["Inbox rule “Team”"].severity == MEDIUM


@pytest.mark.parametrize(
    "values, severity",
    [
        ({"delete": True}, MEDIUM),
        ({"delete": True, "conditions": "subject contains invoice"}, HIGH),
        ({"mark_as_read": True}, MEDIUM),
        ({"mark_as_read": True, "move_to": "megan@contoso.com:\\Inbox\\Archive"}, HIGH),  # the classic pair
        ({"move_to": "megan@contoso.com:\\Inbox\\Archive"}, MEDIUM),
        ({"move_to": "megan@contoso.com:\\RSS Feeds"}, HIGH),
        ({"move_to": "Conversation History"}, HIGH),
        ({"move_to": "Inbox\\."}, HIGH),
        ({"move_to": "Archive", "conditions": "body contains payment"}, HIGH),
        ({"redirect_to": ["x@gmail.com"]}, HIGH),
        ({"forward_as_attachment_to": ["x@gmail.com"]}, HIGH),
    ],
)
def test_hiding_rules(values, severity):
    findings = rules_mail.check_inbox_rules([rule("Tidy", **values)], context())
    assert [f.severity for f in findings] == [severity]


def test_ordinary_rules_system_rules_and_disabled_rules():
    rules = [rule("Newsletters", move_to="Inbox\\Newsletters"), rule("Junk E-Mail Rule", hidden=True, system=True),
             rule("Microsoft.Exchange.OOF.KnownSenders.Rule", hidden=True)]  # fmt: skip
    assert rules_mail.check_inbox_rules(rules, context()) == []
    hidden = [rule("..", hidden=True, move_to="RSS Feeds", mark_as_read=True)]
    findings = rules_mail.check_inbox_rules(hidden, context())
    assert findings[0].severity == HIGH
    assert {f["code"] for f in hidden[0]["flags"]} >= {"hidden", "odd_name", "moves_hidden", "marks_read"}
    # Disabled (what remediation leaves): its reasons stay visible, as notes.
    disabled = [rule("Fwd", enabled=False, forward_to=["attacker@evil.example"])]
    findings = rules_mail.check_inbox_rules(disabled, context())
    assert [f.severity for f in findings] == [NOTE]
    assert all(f["severity"] == NOTE and "disabled" in f["text"] for f in disabled[0]["flags"])


def test_helpers():
    assert rules_mail.folder_name("megan@contoso.com:\\Inbox\\RSS Feeds") == "RSS Feeds"
    assert rules_mail.folder_name("Archive") == "Archive"
    assert (
        rules_mail.is_meaningless(".")
        and rules_mail.is_meaningless("ab")
        and rules_mail.is_meaningless("...!")
    )
    assert not rules_mail.is_meaningless("Newsletters")


def test_rule_changes_and_permission_changes_in_the_audit_log():
    events = [
        {"when": at(30), "operation": "New-InboxRule", "actor": "megan@contoso.com", "client_ip": "102.89.33.7",
         "parameters": {"Name": "..", "ForwardTo": "attacker@evil.example", "MarkAsRead": "True"}},
        {"when": at(29), "operation": "Set-InboxRule", "actor": "megan@contoso.com",
         "parameters": {"Name": "Newsletters", "MoveToFolder": "Newsletters"}},
        {"when": at(28), "operation": "Set-Mailbox", "actor": "megan@contoso.com",
         "parameters": {"Identity": "megan", "ForwardingSmtpAddress": "smtp:attacker@evil.example"}},
        {"when": at(27), "operation": "Add-MailboxPermission", "actor": "megan@contoso.com",
         "parameters": {"Identity": "megan", "User": "mallory@contoso.com", "AccessRights": "FullAccess"}},
        {"when": at(26), "operation": "Remove-InboxRule", "actor": "megan@contoso.com", "parameters": {}},
        {"when": at(24 * 9), "operation": "New-InboxRule", "actor": "megan@contoso.com",
         "parameters": {"Name": "old", "ForwardTo": "attacker@evil.example"}},  # before the window
    ]  # fmt: skip
    findings = rules_mail.check_mailbox_audit(events, context())
    assert [(f.code, f.severity) for f in findings] == [
        ("rule_change", HIGH), ("forwarding_set", HIGH), ("permission_granted", MEDIUM),
    ]  # fmt: skip
    assert "102.89.33.7" in findings[0].detail
    assert events[1]["flags"][0]["severity"] == NOTE and "flags" not in events[5]


def test_mailbox_forwarding():
    ctx = context()
    outside = {
        "forwarding_smtp": "attacker@evil.example",
        "forwarding_address": "",
        "deliver_and_forward": False,
    }
    assert [(f.code, f.severity) for f in rules_mail.check_forwarding(outside, ctx)] == [
        ("forwarding_external", HIGH)
    ]
    inside = {
        "forwarding_smtp": "SMTP:boss@contoso.com",
        "forwarding_address": "",
        "deliver_and_forward": True,
    }
    assert [f.severity for f in rules_mail.check_forwarding(inside, ctx)] == [MEDIUM]
    none = {"forwarding_smtp": "", "forwarding_address": "", "deliver_and_forward": False}
    assert rules_mail.check_forwarding(none, ctx) == []


# --- identity -----------------------------------------------------------------------------------------------


def test_auth_methods_registered_in_the_window_and_passwords():
    data = {
        "methods": [
            {"id": "p", "type": "passwordAuthenticationMethod", "label": "Password", "created": at(3)},
            {"id": "a", "type": "microsoftAuthenticatorAuthenticationMethod", "label": "Authenticator",
             "detail": "Pixel 3", "created": at(20)},
            {"id": "old", "type": "phoneAuthenticationMethod", "label": "Phone", "created": at(24 * 100)},
            {"id": "t", "type": "temporaryAccessPassAuthenticationMethod", "label": "TAP", "created": at(10)},
        ],
        "events": [
            {"when": at(21), "activity": "User registered security info", "actor": "megan@contoso.com",
             "result": "success"},
            {"when": at(22), "activity": "Change password (self-service)", "actor": "megan@contoso.com",
             "result": "success"},
            {"when": at(23), "activity": "Reset password (self-service)", "actor": "megan@contoso.com",
             "result": "failure"},
        ],
        "last_pwd_change": at(22),
    }  # fmt: skip
    findings = rules_identity.check_auth_methods(data, context())
    assert sorted((f.code, f.severity) for f in findings) == sorted([
        ("new_method", HIGH), ("tap_created", HIGH), ("method_registered", MEDIUM), ("password_change", MEDIUM),
    ])  # fmt: skip
    assert rules_identity.check_auth_methods({"methods": data["methods"][2:3], "events": []}, context()) == []


def test_oauth_consents():
    ctx = context()
    phish = {
        "app_name": "Mail Helper",
        "app_id": "a1",
        "publisher": "",
        "verified": False,
        "scopes": ["Mail.ReadWrite", "offline_access"],
        "sp_created": at(40),
        "consented": at(40),
    }
    verified_old = {
        "app_name": "Zoom",
        "app_id": "a2",
        "publisher": "Zoom",
        "verified": True,
        "scopes": ["Mail.Read", "Calendars.Read"],
        "sp_created": at(24 * 200),
        "consented": at(24 * 199),
    }
    harmless_new = {"app_name": "Polls", "app_id": "a3", "publisher": "Contoso", "verified": True,
                    "scopes": ["User.Read"], "sp_created": at(24 * 300), "consented": at(5)}  # fmt: skip
    findings = rules_identity.check_oauth_grants([phish, verified_old, harmless_new], ctx)
    assert [(f.title, f.severity) for f in findings] == [
        ("Consent to Mail Helper", HIGH),
        ("Consent to Polls", MEDIUM),
    ]
    assert verified_old["flags"][0]["severity"] == NOTE
    assert rules_identity.check_oauth_grants([verified_old], ctx) == []


def test_new_apps_are_flags_only_when_this_user_consented_or_added_them():
    apps = [{"app_id": "a1", "name": "Mail Helper", "created": at(40), "created_by": ""},
            {"app_id": "a9", "name": "Someone else's", "created": at(40), "created_by": "other@contoso.com"},
            {"app_id": "a8", "name": "Added by her", "created": at(40), "created_by": "megan@contoso.com"}]  # fmt: skip
    findings = rules_identity.check_new_apps(apps, context(), {"a1"})
    assert sorted(f.code for f in findings) == ["added_by_user", "consented_new_app"]
    assert rules_identity.check_new_apps(apps[1:2], context(), set()) == []


def test_directory_audits():
    me = "7e1f4b9e-0000-4000-8000-000000000001"
    audits = [
        {"when": at(5), "activity": "Add member to role", "actor": "admin@contoso.com", "actor_id": "x",
         "targets": [{"id": me, "name": "megan@contoso.com"}], "result": "success", "role": "target"},
        {"when": at(6), "activity": "Add user", "actor": "megan@contoso.com", "actor_id": me,
         "targets": [{"id": "n", "name": "backdoor@contoso.com"}], "result": "success", "role": "actor"},
        {"when": at(7), "activity": "Update user", "actor": "megan@contoso.com", "actor_id": me,
         "targets": [{"id": me, "name": "megan@contoso.com"}], "result": "success", "role": "both"},
        {"when": at(8), "activity": "Add user", "actor": "megan@contoso.com", "actor_id": me,
         "targets": [{"id": "n2", "name": "x@contoso.com"}], "result": "failure", "role": "actor"},
    ]  # fmt: skip
    findings = rules_identity.check_directory_audits(audits, context())
    assert sorted((f.code, f.severity) for f in findings) == [("actor_high", HIGH), ("role_granted", HIGH)]


def test_risk():
    ctx = context()
    assert rules_identity.check_risk({"risk_level": "none", "risk_state": "none"}, ctx, []) == []
    assert rules_identity.check_risk({"risk_level": "low", "risk_state": "remediated"}, ctx, []) == []
    [finding] = rules_identity.check_risk({"risk_level": "high", "risk_state": "atRisk"}, ctx, [])
    assert finding.severity == HIGH
    [finding] = rules_identity.check_risk({"risk_level": "low", "risk_state": "atRisk"}, ctx, [])
    assert finding.severity == MEDIUM


def _messages(count: int, *, subject: str = "Hello", domain: str = "partner.example", minutes: float = 60.0):
    step = minutes / max(count, 1)
    return [{"when": at(30 - i * step / 60), "recipient": f"person{i}@{domain}", "subject": subject,
             "message_id": f"m{i}"} for i in range(count)]  # fmt: skip


def test_sent_mail():
    ctx = context()
    assert (
        rules_identity.check_sent_mail(
            _messages(5) + _messages(40, domain="contoso.com", minutes=24 * 60), ctx
        )
        == []
    )
    campaign = _messages(12, subject="Invoice overdue", minutes=600)
    assert [f.code for f in rules_identity.check_sent_mail(campaign, ctx)] == ["campaign"]
    blast = [dict(m, subject=f"s{i}") for i, m in enumerate(_messages(30, minutes=45))]
    assert sorted(f.code for f in rules_identity.check_sent_mail(blast, ctx)) == ["burst", "many_external"]


def test_window_bounds():
    assert SINCE < UNTIL
    found = codes(rules_signins.check_sign_ins([sign_in(0, LAGOS, ip="102.89.33.7")], context()))
    assert found == ["new_country", "unfamiliar_ip"]  # the until instant is inside the window
