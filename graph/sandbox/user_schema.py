"""The microsoft.graph.user property list the sandbox accepts and returns (v1.0), taken from the
graph-contract (Microsoft's OpenAPI/CSDL): kind of value and whether Graph treats it as read-only.

Kinds: str, bool, datetime (ISO 8601 string), int, strlist (array of strings), list (array of complex
values), object (complex value).
"""

from __future__ import annotations

# name: (kind, read_only)
USER_PROPERTIES: dict[str, tuple[str, bool]] = {
    "id": ("str", True),
    "deletedDateTime": ("datetime", True),
    "aboutMe": ("str", False),
    "accountEnabled": ("bool", False),
    "ageGroup": ("str", False),
    "assignedLicenses": ("list", False),
    "assignedPlans": ("list", True),
    "authorizationInfo": ("object", False),
    "birthday": ("datetime", False),
    "businessPhones": ("strlist", False),
    "city": ("str", False),
    "companyName": ("str", False),
    "consentProvidedForMinor": ("str", False),
    "country": ("str", False),
    "createdDateTime": ("datetime", True),
    "creationType": ("str", True),
    "customSecurityAttributes": ("object", False),
    "department": ("str", False),
    "deviceEnrollmentLimit": ("int", False),
    "displayName": ("str", False),
    "employeeHireDate": ("datetime", False),
    "employeeId": ("str", False),
    "employeeLeaveDateTime": ("datetime", False),
    "employeeOrgData": ("object", False),
    "employeeType": ("str", False),
    "externalUserState": ("str", False),
    "externalUserStateChangeDateTime": ("datetime", False),
    "faxNumber": ("str", False),
    "givenName": ("str", False),
    "hireDate": ("datetime", False),
    "identities": ("list", False),
    "imAddresses": ("strlist", True),
    "interests": ("strlist", False),
    "isManagementRestricted": ("bool", False),
    "isResourceAccount": ("bool", False),
    "jobTitle": ("str", False),
    "lastPasswordChangeDateTime": ("datetime", False),
    "legalAgeGroupClassification": ("str", False),
    "licenseAssignmentStates": ("list", True),
    "mail": ("str", False),
    "mailboxSettings": ("object", False),
    "mailNickname": ("str", False),
    "mobilePhone": ("str", False),
    "mySite": ("str", False),
    "officeLocation": ("str", False),
    "onPremisesDistinguishedName": ("str", True),
    "onPremisesDomainName": ("str", True),
    "onPremisesExtensionAttributes": ("object", False),
    "onPremisesImmutableId": ("str", False),
    "onPremisesLastSyncDateTime": ("datetime", True),
    "onPremisesProvisioningErrors": ("list", False),
    "onPremisesSamAccountName": ("str", True),
    "onPremisesSecurityIdentifier": ("str", True),
    "onPremisesSyncEnabled": ("bool", True),
    "onPremisesUserPrincipalName": ("str", True),
    "otherMails": ("strlist", False),
    "passwordPolicies": ("str", False),
    "passwordProfile": ("object", False),
    "pastProjects": ("strlist", False),
    "postalCode": ("str", False),
    "preferredDataLocation": ("str", False),
    "preferredLanguage": ("str", False),
    "preferredName": ("str", False),
    "provisionedPlans": ("list", True),
    "proxyAddresses": ("strlist", True),
    "responsibilities": ("strlist", False),
    "schools": ("strlist", False),
    "securityIdentifier": ("str", True),
    "serviceProvisioningErrors": ("list", False),
    "showInAddressList": ("bool", False),
    "signInActivity": ("object", True),
    "signInSessionsValidFromDateTime": ("datetime", True),
    "skills": ("strlist", False),
    "state": ("str", False),
    "streetAddress": ("str", False),
    "surname": ("str", False),
    "usageLocation": ("str", False),
    "userPrincipalName": ("str", False),
    "userType": ("str", False),
}

# Returned when a request has no $select (Graph's default property set).
DEFAULT_USER_SELECT: tuple[str, ...] = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)

# Graph answers 501 when $select asks for these on a collection (they come from other services).
NOT_IN_COLLECTION: frozenset[str] = frozenset(
    {
        "aboutMe",
        "birthday",
        "hireDate",
        "interests",
        "mySite",
        "pastProjects",
        "preferredName",
        "responsibilities",
        "schools",
        "skills",
        "mailboxSettings",
    }
)

# Writable on create/update but never nullable in practice (Graph rejects null for these).
NOT_NULLABLE: frozenset[str] = frozenset(
    {"accountEnabled", "displayName", "mailNickname", "userPrincipalName"}
)

# Collections default to [] rather than null in Graph's JSON.
COLLECTION_KINDS = frozenset({"strlist", "list"})

# Scalar properties Graph documents as $filter-able (from each property's "Supports $filter" note).
USER_FILTERABLE: frozenset[str] = frozenset(
    {
        "accountEnabled",
        "ageGroup",
        "city",
        "companyName",
        "consentProvidedForMinor",
        "country",
        "createdDateTime",
        "creationType",
        "department",
        "displayName",
        "employeeHireDate",
        "employeeId",
        "employeeLeaveDateTime",
        "employeeType",
        "externalUserState",
        "externalUserStateChangeDateTime",
        "faxNumber",
        "givenName",
        "jobTitle",
        "mail",
        "mailNickname",
        "mobilePhone",
        "officeLocation",
        "onPremisesImmutableId",
        "onPremisesLastSyncDateTime",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "onPremisesUserPrincipalName",
        "passwordPolicies",
        "postalCode",
        "preferredLanguage",
        "state",
        "streetAddress",
        "surname",
        "usageLocation",
        "userPrincipalName",
        "userType",
    }
)
