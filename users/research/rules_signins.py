"""Sign-in rules: new countries, impossible travel, legacy authentication, unfamiliar IP addresses, risk.

Only *successful* sign-ins in the window are flagged: a failed attempt proves someone tried, not that they got
in (failed attempts from abroad become a note). "Usual" places come from the sign-ins before the window (the
baseline, read separately), the user's usage location and the tenant's country; without any of these the
country the user signed in from most is taken as home.

A sign-in row (``users.research.sources.sign_in_row``): ``{id, when, ok, error_code, failure, app, client, ip,
country, city, state, lat, lon, device, os, browser, managed, compliant, ca, risk, interactive}``.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter

from .rules import HIGH, MEDIUM, NOTE, Finding, RuleContext, flag, in_window, parse_when

SECTION = "sign_ins"
# clientAppUsed values of modern authentication; everything else (Exchange ActiveSync, IMAP4, POP3, SMTP,
# Authenticated SMTP, MAPI over HTTP, Exchange Web Services, Other clients, AutoDiscover...) is legacy:
# it cannot do MFA, which is why attackers use it.
MODERN_CLIENTS = frozenset({"browser", "mobile apps and desktop clients"})
EARTH_RADIUS_KM = 6371.0088
# Faster than an airliner between places far enough apart that IP geolocation error does not explain it.
TRAVEL_MIN_KM = 500.0
TRAVEL_MAX_KMH = 900.0
RISKY_LEVELS = frozenset({"medium", "high"})


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def is_legacy(client: str) -> bool:
    text = str(client or "").strip().lower()
    return bool(text) and text not in MODERN_CLIENTS


def ip_prefix(ip: str) -> str:
    """The network an address belongs to for "familiar" purposes: /24 for IPv4, /48 for IPv6 (home and
    office connections keep their prefix when the last part changes)."""
    try:
        address = ipaddress.ip_address(str(ip).strip())
    except ValueError:
        return str(ip or "").strip().lower()
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def place(row: dict) -> str:
    city = row.get("city") or ""
    country = row.get("country") or "?"
    return f"{city}, {country}" if city else country


def _trusted_device(row: dict) -> bool:
    return bool(row.get("managed") or row.get("compliant"))


def usual_countries(rows: list[dict], ctx: RuleContext) -> tuple[set[str], str]:
    """(countries, how they were chosen)."""
    usual = {c.upper() for c in (ctx.usage_location, ctx.tenant_country) if c}
    how = []
    if usual:
        how.append("usage location / tenant country")
    if ctx.baseline_sign_ins:
        before = {str(r.get("country") or "").upper() for r in ctx.baseline_sign_ins if r.get("ok")}
        before.discard("")
        if before:
            usual |= before
            how.append("sign-ins before the window")
    if not usual:
        counts = Counter(
            str(r.get("country") or "").upper() for r in rows if r.get("ok") and r.get("country")
        )
        if counts:
            usual = {counts.most_common(1)[0][0]}
            how.append("the country most sign-ins came from")
    return usual, ", ".join(how) or "nothing to compare with"


def familiar_prefixes(rows: list[dict], ctx: RuleContext, usual: set[str]) -> set[str]:
    """Networks the user is known to sign in from: the baseline's, those used from managed or compliant
    devices, and (without a baseline) the network most used in a usual country."""
    familiar = {ip_prefix(r["ip"]) for r in ctx.baseline_sign_ins or [] if r.get("ok") and r.get("ip")}
    familiar |= {ip_prefix(r["ip"]) for r in rows if r.get("ok") and r.get("ip") and _trusted_device(r)}
    if not ctx.baseline_sign_ins:
        counts = Counter(
            ip_prefix(r["ip"])
            for r in rows
            if r.get("ok") and r.get("ip") and str(r.get("country") or "").upper() in usual
        )
        if counts:
            familiar.add(counts.most_common(1)[0][0])
    return familiar


def check_sign_ins(rows: list[dict], ctx: RuleContext) -> list[Finding]:
    findings: list[Finding] = []
    window = sorted(
        (r for r in rows if in_window(r.get("when"), ctx)), key=lambda r: parse_when(r.get("when"))
    )
    usual, _how = usual_countries(window, ctx)
    familiar = familiar_prefixes(window, ctx, usual)
    ok = [r for r in window if r.get("ok")]
    failed = [r for r in window if not r.get("ok")]
    findings += _new_countries(ok, usual)
    findings += _legacy(ok, failed)
    findings += _unfamiliar_ips(ok, familiar, usual)
    findings += _impossible_travel(ok)
    findings += _risky(ok)
    findings += _failed_abroad(failed, usual)
    return findings


def _new_countries(ok: list[dict], usual: set[str]) -> list[Finding]:
    by_country: dict[str, list[dict]] = {}
    travel: dict[str, list[dict]] = {}
    for row in ok:
        country = str(row.get("country") or "").upper()
        if not country or country in usual:
            continue
        # From a managed or compliant device it is the user travelling with their own laptop or phone.
        (travel if _trusted_device(row) else by_country).setdefault(country, []).append(row)
    findings = []
    usual_text = ", ".join(sorted(usual)) or "unknown"
    for country, hits in by_country.items():
        for row in hits:
            flag(row, "new_country", HIGH, f"New country {country}")
        places = sorted({place(r) for r in hits})
        findings.append(Finding(SECTION, "new_country", HIGH, f"Signed in from {country}, a new country",
                                f"{len(hits)} successful sign-in(s) from {'; '.join(places)} (IP "
                                f"{', '.join(sorted({r.get('ip') or '?' for r in hits}))}) on an unmanaged device; "
                                f"the user usually signs in from {usual_text}.",
                                hits[0].get("when") or "", len(hits)))  # fmt: skip
    for country, hits in travel.items():
        for row in hits:
            flag(row, "travel", NOTE, f"Abroad ({country}) on a managed device")
        findings.append(Finding(SECTION, "travel", NOTE, f"Signed in from {country} on a managed device",
                                f"{len(hits)} sign-in(s) from {'; '.join(sorted({place(r) for r in hits}))} on the "
                                "user's own managed or compliant device: most likely travel.",
                                hits[0].get("when") or "", len(hits)))  # fmt: skip
    return findings


def _legacy(ok: list[dict], failed: list[dict]) -> list[Finding]:
    findings = []
    legacy_ok = [r for r in ok if is_legacy(r.get("client"))]
    for client in sorted({r.get("client") for r in legacy_ok}):
        hits = [r for r in legacy_ok if r.get("client") == client]
        for row in hits:
            flag(row, "legacy_auth", MEDIUM, f"Legacy authentication ({client})")
        findings.append(Finding(SECTION, "legacy_auth", MEDIUM, f"Legacy authentication succeeded: {client}",
                                f"{len(hits)} successful sign-in(s) with {client}, which cannot do MFA, from "
                                f"{', '.join(sorted({r.get('ip') or '?' for r in hits}))}.",
                                hits[0].get("when") or "", len(hits)))  # fmt: skip
    legacy_failed = [r for r in failed if is_legacy(r.get("client"))]
    if legacy_failed:
        for row in legacy_failed:
            flag(row, "legacy_attempt", NOTE, f"Legacy authentication attempt ({row.get('client')})")
        findings.append(Finding(SECTION, "legacy_attempt", NOTE, "Failed legacy authentication attempts",
                                f"{len(legacy_failed)} failed sign-in(s) with legacy clients.",
                                legacy_failed[0].get("when") or "", len(legacy_failed)))  # fmt: skip
    return findings


def _unfamiliar_ips(ok: list[dict], familiar: set[str], usual: set[str]) -> list[Finding]:
    by_ip: dict[str, list[dict]] = {}
    for row in ok:
        ip = row.get("ip") or ""
        if not ip or _trusted_device(row) or ip_prefix(ip) in familiar:
            continue
        by_ip.setdefault(ip, []).append(row)
    findings = []
    for ip, hits in by_ip.items():
        for row in hits:
            flag(row, "unfamiliar_ip", MEDIUM, f"Unfamiliar IP {ip}")
        findings.append(Finding(SECTION, "unfamiliar_ip", MEDIUM, f"Sign-in from an unfamiliar IP address: {ip}",
                                f"{len(hits)} successful sign-in(s) from {place(hits[0])} on an unmanaged device; "
                                "the user has not signed in from this network before.",
                                hits[0].get("when") or "", len(hits)))  # fmt: skip
    return findings


def _coordinates(row: dict) -> tuple[float, float] | None:
    try:
        lat, lon = row.get("lat"), row.get("lon")
        if lat is None or lon is None:
            return None
        return float(lat), float(lon)
    except (TypeError, ValueError):
        return None


def travel_speed(first: dict, second: dict) -> tuple[float, float, float] | None:
    """(km, hours, km/h) between two sign-ins with coordinates, else None. Hours of 0 count as one minute."""
    a, b = _coordinates(first), _coordinates(second)
    t1, t2 = parse_when(first.get("when")), parse_when(second.get("when"))
    if a is None or b is None or t1 is None or t2 is None:
        return None
    km = haversine_km(a[0], a[1], b[0], b[1])
    hours = abs((t2 - t1).total_seconds()) / 3600
    return km, hours, km / max(hours, 1 / 60)


def _impossible_travel(ok: list[dict]) -> list[Finding]:
    """Consecutive successful sign-ins (in time order) too far apart for the time between them."""
    findings = []
    located = [r for r in ok if _coordinates(r) is not None]
    for first, second in zip(located, located[1:], strict=False):
        measured = travel_speed(first, second)
        if measured is None:
            continue
        km, hours, speed = measured
        if km < TRAVEL_MIN_KM or speed < TRAVEL_MAX_KMH:
            continue
        text = f"{place(first)} → {place(second)}: {km:,.0f} km in {_duration(hours)} ({speed:,.0f} km/h)"
        for row in (first, second):
            flag(row, "impossible_travel", HIGH, f"Impossible travel: {text}")
        findings.append(Finding(SECTION, "impossible_travel", HIGH, "Impossible travel",
                                f"{text}, between {first.get('ip') or '?'} and {second.get('ip') or '?'}.",
                                second.get("when") or ""))  # fmt: skip
    return findings


def _duration(hours: float) -> str:
    minutes = int(round(hours * 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _risky(ok: list[dict]) -> list[Finding]:
    hits = [r for r in ok if str(r.get("risk") or "").lower() in RISKY_LEVELS]
    for row in hits:
        flag(row, "risky_sign_in", HIGH, f"Risk {row.get('risk')}")
    if not hits:
        return []
    return [Finding(SECTION, "risky_sign_in", HIGH, "Sign-ins Identity Protection rated risky",
                    f"{len(hits)} successful sign-in(s) with risk medium or high.", hits[0].get("when") or "",
                    len(hits))]  # fmt: skip


def _failed_abroad(failed: list[dict], usual: set[str]) -> list[Finding]:
    by_country: dict[str, list[dict]] = {}
    for row in failed:
        country = str(row.get("country") or "").upper()
        if country and country not in usual:
            by_country.setdefault(country, []).append(row)
    findings = []
    for country, hits in by_country.items():
        for row in hits:
            flag(row, "failed_abroad", NOTE, f"Failed attempt from {country}")
        findings.append(Finding(SECTION, "failed_abroad", NOTE, f"Failed sign-ins from {country}",
                                f"{len(hits)} failed attempt(s) from {'; '.join(sorted({place(r) for r in hits}))}: "
                                "someone tried, and was refused.", hits[0].get("when") or "", len(hits)))  # fmt: skip
    return findings
