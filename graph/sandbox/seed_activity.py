"""Per-user activity for the View user page: authentication methods, per-user MFA requirements, devices,
30 days of sign-in history and OneDrive drives.

``seed_user_activity(tenant, rng)`` runs after a tenant's people exist (``seed_demo`` calls it per tenant).
Everything comes from ``rng`` and uuid5 ids of (tenant, kind, index), so a reseed with the same seed
rebuilds the same world. Load-test tenants get activity for their first ``ACTIVITY_USER_CAP`` people only:
the page needs realistic users, not 100,000 x 15 sign-in rows.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from django.db import transaction

from .models import (
    SandboxAuthMethod,
    SandboxDevice,
    SandboxDeviceUser,
    SandboxDrive,
    SandboxSignIn,
    SandboxTenant,
    SandboxUser,
    SandboxUserAuthentication,
)

ACTIVITY_USER_CAP = 2000
SIGN_IN_DAYS = 30
NAMESPACE = uuid.UUID("0c5e1d2a-94b1-4f3e-8f0e-6d1b2a9c7e55")
ONE_TB = 1024**4

# (appDisplayName, appId, resourceDisplayName, resourceId, clientAppUsed, weight)
APPS = (
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams Services",
     "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Mobile Apps and Desktop clients", 30),
    ("Microsoft Outlook", "5d661950-3475-41cd-a2c3-d671a3162bc1", "Office 365 Exchange Online",
     "00000002-0000-0ff1-ce00-000000000000", "Mobile Apps and Desktop clients", 25),
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome",
     "4765445b-32c6-49b0-83e6-1d93765276ca", "Browser", 15),
    ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online",
     "00000003-0000-0ff1-ce00-000000000000", "Browser", 10),
    ("OneDrive SyncEngine", "ab9b8c07-8f02-4f72-87fa-80105867a763", "Office 365 SharePoint Online",
     "00000003-0000-0ff1-ce00-000000000000", "Mobile Apps and Desktop clients", 8),
    ("Microsoft Authenticator App", "4813382a-8fa7-425e-ab75-3b753aab3abb", "Microsoft Graph",
     "00000003-0000-0000-c000-000000000000", "Mobile Apps and Desktop clients", 5),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Windows Azure Service Management API",
     "797f4846-ba00-4fd7-ba43-dac1f8f63013", "Browser", 3),
    ("Exchange ActiveSync", "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online",
     "00000002-0000-0ff1-ce00-000000000000", "Exchange ActiveSync", 2),
)  # fmt: skip
# Where a tenant's people sign in from: (country, state, city, latitude, longitude, IP prefix).
HOME_LOCATIONS = {
    "GB": [("GB", "England", "London", 51.5072, -0.1276, "81.2.69."),
           ("GB", "England", "Manchester", 53.4808, -2.2426, "86.139.12.")],
    "US": [("US", "Washington", "Seattle", 47.6062, -122.3321, "73.42.188."),
           ("US", "Illinois", "Chicago", 41.8781, -87.6298, "98.213.47.")],
    "AU": [("AU", "New South Wales", "Sydney", -33.8688, 151.2093, "120.18.33.")],
    "NL": [("NL", "Noord-Holland", "Amsterdam", 52.3676, 4.9041, "84.241.9.")],
    "DE": [("DE", "Berlin", "Berlin", 52.52, 13.405, "91.64.101.")],
}  # fmt: skip
TRAVEL = [("FR", "Ile-de-France", "Paris", 48.8566, 2.3522, "90.84.144."),
          ("ES", "Catalonia", "Barcelona", 41.3874, 2.1686, "83.44.20.")]  # fmt: skip
HOSTILE = [("NG", "Lagos", "Lagos", 6.5244, 3.3792, "102.89.33."),
           ("RU", "Moscow", "Moscow", 55.7558, 37.6173, "95.165.28.")]  # fmt: skip
FAILURES = (
    (50126, "Error validating credentials due to invalid username or password."),
    (50074, "Strong Authentication is required."),
    (53003, "Access has been blocked by Conditional Access policies."),
    (50140, "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."),
)
PHONES = (("iPhone 15", "iOS 17.5.1"), ("iPhone 13", "iOS 17.4"), ("Pixel 8", "Android 14"),
          ("Galaxy S23", "Android 14"))  # fmt: skip
LAPTOPS = (("Dell Inc.", "Latitude 7440"), ("LENOVO", "ThinkPad T14 Gen 4"), ("HP", "EliteBook 840 G10"),
           ("Microsoft Corporation", "Surface Laptop 5"))  # fmt: skip
DEVICE_COUNTRY_PREFIX = {"GB": "+44 7700 9", "US": "+1 206 555 0", "AU": "+61 491 570 "}


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class _Activity:
    def __init__(self, tenant: SandboxTenant, rng: random.Random) -> None:
        self.tenant, self.rng = tenant, rng
        now = datetime.now(UTC)
        self.as_of = datetime(now.year, now.month, now.day, tzinfo=UTC)
        self.prefix = (tenant.display_name.split()[0][:3] or "DEV").upper()
        self.homes = HOME_LOCATIONS.get(tenant.country_letter_code, HOME_LOCATIONS["US"])
        self.methods: list[SandboxAuthMethod] = []
        self.requirements: list[SandboxUserAuthentication] = []
        self.devices: list[SandboxDevice] = []
        self.links: list[SandboxDeviceUser] = []
        self.sign_ins: list[SandboxSignIn] = []
        self.drives: list[SandboxDrive] = []

    def id_for(self, *parts: object) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, ":".join([str(self.tenant.pk), *map(str, parts)]))

    def ago(self, days: float) -> datetime:
        return self.as_of - timedelta(days=days)

    # --- authentication ---------------------------------------------------------------------------------

    def add_methods(self, user: SandboxUser, index: int, admin: bool) -> list[str]:
        rng, props = self.rng, user.properties
        created = datetime.fromisoformat(str(props.get("createdDateTime")).replace("Z", "+00:00"))
        first_day = (self.as_of - created).days
        kinds: list[str] = []

        def when() -> datetime:
            return self.ago(rng.uniform(1, max(2, first_day)))

        def add(kind: str, key: str, moment: datetime | None, body: dict) -> None:
            kinds.append(kind)
            self.methods.append(SandboxAuthMethod(id=self.id_for("method", key, index), user=user,
                                                  method_type=kind, created_datetime=moment, properties=body))  # fmt: skip

        registered = admin or rng.random() < 0.82
        if not registered:
            return kinds
        phone, os_version = rng.choice(PHONES)
        moment = when()
        add("microsoftAuthenticatorAuthenticationMethod", "authenticator", moment, {
            "displayName": phone, "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": f"6.{rng.randint(7, 8)}.{rng.randint(1, 30)}", "createdDateTime": _iso(moment),
        })  # fmt: skip
        if rng.random() < 0.6:
            prefix = DEVICE_COUNTRY_PREFIX.get(self.tenant.country_letter_code, "+1 555 0")
            add("phoneAuthenticationMethod", "phone", None, {
                "phoneNumber": f"{prefix}{rng.randint(100, 999)}", "phoneType": "mobile",
                "smsSignInState": "notEnabled",
            })  # fmt: skip
        if admin or rng.random() < 0.08:
            moment = when()
            add("fido2AuthenticationMethod", "fido2", moment, {
                "displayName": "YubiKey 5 NFC", "model": "YubiKey 5 NFC",
                "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "attestationCertificates": [],
                "attestationLevel": "attested", "createdDateTime": _iso(moment),
            })  # fmt: skip
        if rng.random() < 0.35:
            moment = when()
            add("windowsHelloForBusinessAuthenticationMethod", "whfb", moment, {
                "displayName": f"{self.prefix}-LT-{index:04d}", "keyStrength": "normal",
                "createdDateTime": _iso(moment),
            })  # fmt: skip
        if rng.random() < 0.1:
            add("softwareOathAuthenticationMethod", "oath", None, {"secretKey": None})
        if rng.random() < 0.2:
            add("emailAuthenticationMethod", "email", None, {
                "emailAddress": f"{user.upn_lower.split('@')[0]}@outlook.com",
            })  # fmt: skip
        return kinds

    def add_requirement(self, user: SandboxUser, registered: bool) -> None:
        draw = self.rng.random()
        state = "enforced" if registered and draw < 0.15 else "enabled" if draw < 0.2 else "disabled"
        if state != "disabled":
            self.requirements.append(SandboxUserAuthentication(user=user, per_user_mfa_state=state))

    # --- devices ------------------------------------------------------------------------------------------

    def add_devices(self, user: SandboxUser, index: int) -> list[tuple[str, str, str]]:
        """Returns (deviceId, displayName, operatingSystem) of the user's devices, for sign-in details."""
        rng, found = self.rng, []
        if rng.random() < 0.85:
            maker, model = rng.choice(LAPTOPS)
            name = f"{self.prefix}-LT-{index:04d}"
            found.append(self._device(user, index, "laptop", name, {
                "operatingSystem": "Windows", "operatingSystemVersion": f"10.0.{rng.choice([22631, 26100])}.{rng.randint(1000, 4999)}",
                "trustType": "AzureAd", "isCompliant": rng.random() < 0.9, "isManaged": True,
                "manufacturer": maker, "model": model, "deviceOwnership": "Company",
                "enrollmentType": "windowsAzureADJoin", "managementType": "mdm",
            }))  # fmt: skip
        if rng.random() < 0.55:
            phone, os_version = rng.choice(PHONES)
            os_name, version = os_version.split(" ", 1)
            found.append(self._device(user, index, "phone", f"{(user.properties.get('givenName') or 'User')}'s {phone}", {
                "operatingSystem": "IPhone" if os_name == "iOS" else "Android", "operatingSystemVersion": version,
                "trustType": "Workplace", "isCompliant": rng.random() < 0.8, "isManaged": rng.random() < 0.7,
                "manufacturer": "Apple" if os_name == "iOS" else "Google" if "Pixel" in phone else "Samsung",
                "model": phone, "deviceOwnership": "Personal",
            }))  # fmt: skip
        return found

    def _device(
        self, user: SandboxUser, index: int, key: str, name: str, props: dict
    ) -> tuple[str, str, str]:
        device_id = self.id_for("device", key, index)
        registered = self.ago(self.rng.uniform(20, 700))
        props.update(
            deviceId=str(self.id_for("deviceId", key, index)), accountEnabled=True,
            registrationDateTime=_iso(registered), profileType="RegisteredDevice",
            approximateLastSignInDateTime=_iso(self.ago(self.rng.uniform(0, 6))),
        )  # fmt: skip
        self.devices.append(
            SandboxDevice(id=device_id, tenant=self.tenant, display_name=name, properties=props)
        )
        for relation in ("owner", "user"):
            self.links.append(SandboxDeviceUser(device_id=device_id, user=user, relation=relation))
        return props["deviceId"], name, props["operatingSystem"]

    # --- sign-ins -----------------------------------------------------------------------------------------

    def add_sign_ins(self, user: SandboxUser, index: int, devices: list, mfa: bool) -> None:
        rng = self.rng
        last = (user.properties.get("signInActivity") or {}).get("lastSignInDateTime")
        if not user.account_enabled or not last:
            return
        home = rng.choice(self.homes)
        home_ip = f"{home[5]}{rng.randint(2, 250)}"
        weights = [app[5] for app in APPS]
        for number in range(rng.randint(4, 18)):
            moment = self.ago(rng.uniform(0, SIGN_IN_DAYS))
            app = rng.choices(APPS, weights)[0]
            place, ip = home, home_ip
            if rng.random() < 0.08:
                place = rng.choice(TRAVEL)
                ip = f"{place[5]}{rng.randint(2, 250)}"
            failure = rng.choice(FAILURES) if rng.random() < 0.08 else None
            self._sign_in(user, index, number, moment, app, place, ip, devices, mfa, failure)
        if rng.random() < 0.06:  # a password spray attempt from abroad, blocked
            place = rng.choice(HOSTILE)
            for number in range(100, 100 + rng.randint(1, 4)):
                self._sign_in(user, index, number, self.ago(rng.uniform(0, 10)), APPS[2], place,
                              f"{place[5]}{rng.randint(2, 250)}", [], mfa, FAILURES[0])  # fmt: skip

    def _sign_in(self, user, index, number, moment, app, place, ip, devices, mfa, failure) -> None:
        rng = self.rng
        device = rng.choice(devices) if devices and not failure else None
        browser = "Edge 126.0.0" if app[4] == "Browser" else None
        status = {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}
        if failure:
            status = {"errorCode": failure[0], "failureReason": failure[1], "additionalDetails": None}
        elif mfa and rng.random() < 0.3:
            status["additionalDetails"] = "MFA requirement satisfied by claim in the token"
        sign_in_id = self.id_for("signin", index, number)
        self.sign_ins.append(SandboxSignIn(
            id=sign_in_id, tenant=self.tenant, user=user, created_datetime=moment,
            properties={
                "createdDateTime": _iso(moment), "userDisplayName": user.display_name,
                "userPrincipalName": user.upn_lower, "userId": str(user.pk),
                "appId": app[1], "appDisplayName": app[0], "ipAddress": ip, "clientAppUsed": app[4],
                "correlationId": str(self.id_for("correlation", index, number)),
                "conditionalAccessStatus": "failure" if failure and failure[0] == 53003 else "notApplied",
                "isInteractive": app[4] == "Browser" or rng.random() < 0.4,
                "resourceDisplayName": app[2], "resourceId": app[3],
                "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none",
                "riskState": "none", "riskEventTypes": [], "riskEventTypes_v2": [],
                "status": status,
                "deviceDetail": {
                    "deviceId": device[0] if device else "", "displayName": device[1] if device else "",
                    "operatingSystem": device[2] if device else rng.choice(["Windows10", "MacOs", "Linux"]),
                    "browser": browser or "", "isCompliant": bool(device), "isManaged": bool(device),
                    "trustType": "Azure AD joined" if device and device[2] == "Windows" else "",
                },
                "location": {
                    "city": place[2], "state": place[1], "countryOrRegion": place[0],
                    "geoCoordinates": {"altitude": None, "latitude": place[3], "longitude": place[4]},
                },
                "appliedConditionalAccessPolicies": [],
            },
        ))  # fmt: skip

    # --- OneDrive -------------------------------------------------------------------------------------------

    def add_drive(self, user: SandboxUser, index: int, domain: str) -> None:
        plans = user.properties.get("assignedPlans") or []
        if not any(p.get("service") == "SharePoint" for p in plans):
            return
        if self.rng.random() < 0.12:  # licensed, but never signed in to OneDrive: not provisioned yet
            return
        used = int(min(self.rng.lognormvariate(21.5, 1.6), 0.97 * ONE_TB))
        tenant_label = domain.split(".")[0]
        personal = user.upn_lower.replace("@", "_").replace(".", "_")
        self.drives.append(SandboxDrive(
            id=f"b!{self.id_for('drive', index).hex[:22]}{self.id_for('site', index).hex[:20]}",
            user=user, created_datetime=self.ago(self.rng.uniform(10, 900)), quota_total=ONE_TB,
            quota_used=used, quota_deleted=int(used * self.rng.uniform(0, 0.05)),
            web_url=f"https://{tenant_label}-my.sharepoint.com/personal/{personal}/Documents",
        ))  # fmt: skip

    def save(self) -> None:
        with transaction.atomic():
            SandboxAuthMethod.objects.bulk_create(self.methods, batch_size=2000)
            SandboxUserAuthentication.objects.bulk_create(self.requirements, batch_size=2000)
            SandboxDevice.objects.bulk_create(self.devices, batch_size=2000)
            SandboxDeviceUser.objects.bulk_create(self.links, batch_size=2000)
            SandboxSignIn.objects.bulk_create(self.sign_ins, batch_size=2000)
            SandboxDrive.objects.bulk_create(self.drives, batch_size=2000)


def _clear(tenant: SandboxTenant) -> None:
    """Re-seeding a tenant replaces its activity rather than duplicating it."""
    SandboxAuthMethod.objects.filter(user__tenant=tenant).delete()
    SandboxUserAuthentication.objects.filter(user__tenant=tenant).delete()
    SandboxDevice.objects.filter(tenant=tenant).delete()
    SandboxSignIn.objects.filter(tenant=tenant).delete()
    SandboxDrive.objects.filter(user__tenant=tenant).delete()


def seed_user_activity(tenant: SandboxTenant, rng: random.Random) -> None:
    """Seed authentication methods, per-user MFA, devices, sign-ins and OneDrive for ``tenant``'s people."""
    _clear(tenant)
    activity = _Activity(tenant, rng)
    domain = (
        tenant.domains.filter(is_initial=True).values_list("name", flat=True).first()
        or "tenant.onmicrosoft.com"
    )
    users = SandboxUser.objects.filter(tenant=tenant, deleted_datetime__isnull=True).order_by(
        "created_datetime", "id"
    )
    admins = set(
        SandboxUser.objects.filter(tenant=tenant, role_memberships__isnull=False).values_list("pk", flat=True)
    )
    for index, user in enumerate(users[:ACTIVITY_USER_CAP].iterator()):
        if user.user_type == "Guest" or not (user.properties.get("assignedLicenses") or user.pk in admins):
            continue  # guests and unlicensed (shared, break-glass) accounts have no personal activity
        kinds = activity.add_methods(user, index, user.pk in admins)
        activity.add_requirement(user, bool(kinds))
        devices = activity.add_devices(user, index)
        activity.add_sign_ins(user, index, devices, bool(kinds))
        activity.add_drive(user, index, domain)
    activity.save()
