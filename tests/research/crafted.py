"""Crafted report rows for the rule tests: a normal week of a London user, and the pieces an attacker adds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from users.research.rules import RuleContext

UNTIL = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=7)
LONDON = {"country": "GB", "city": "London", "lat": 51.5072, "lon": -0.1276}
MANCHESTER = {"country": "GB", "city": "Manchester", "lat": 53.4808, "lon": -2.2426}
LAGOS = {"country": "NG", "city": "Lagos", "lat": 6.5244, "lon": 3.3792}
PARIS = {"country": "FR", "city": "Paris", "lat": 48.8566, "lon": 2.3522}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(hours_before_until: float) -> str:
    return iso(UNTIL - timedelta(hours=hours_before_until))


def sign_in(
    hours: float,
    place: dict = LONDON,
    *,
    ip: str = "81.2.69.10",
    ok: bool = True,
    client: str = "Browser",
    managed: bool = False,
    risk: str = "none",
    number: int = 0,
) -> dict:
    return {
        "id": f"s{hours}-{number}",
        "when": at(hours),
        "ok": ok,
        "error_code": 0 if ok else 50126,
        "failure": "" if ok else "Invalid username or password",
        "app": "OfficeHome",
        "client": client,
        "ip": ip,
        "managed": managed,
        "compliant": managed,
        "risk": risk,
        **place,
    }


def context(**overrides) -> RuleContext:
    values = {
        "since": SINCE,
        "until": UNTIL,
        "usage_location": "GB",
        "tenant_country": "GB",
        "internal_domains": {"contoso.com", "contoso.onmicrosoft.com"},
        "baseline_sign_ins": [
            sign_in(24 * 10, ip="81.2.69.7"),
            sign_in(24 * 12, MANCHESTER, ip="86.139.12.9"),
        ],
        "upn": "megan@contoso.com",
        "user_id": "7e1f4b9e-0000-4000-8000-000000000001",
    }
    values.update(overrides)
    return RuleContext(**values)


def normal_week() -> list[dict]:
    """A week of ordinary sign-ins from the home network and a managed laptop, one failed password."""
    rows = [sign_in(h, ip="81.2.69.10", number=i) for i, h in enumerate((2, 20, 44, 70, 100, 130, 150))]
    rows.append(
        sign_in(60, MANCHESTER, ip="86.139.12.20", managed=True, client="Mobile Apps and Desktop clients")
    )
    rows.append(sign_in(80, ip="81.2.69.10", ok=False))
    return rows


def rule(name: str, **values) -> dict:
    base = {
        "identity": f"megan@contoso.com\\{sum(map(ord, name))}",
        "name": name,
        "enabled": True,
        "hidden": False,
        "system": False,
        "priority": 1,
        "forward_to": [],
        "redirect_to": [],
        "forward_as_attachment_to": [],
        "delete": False,
        "mark_as_read": False,
        "move_to": "",
        "copy_to": "",
        "conditions": "",
        "stop_processing": False,
        "description": "",
    }
    base.update(values)
    return base
