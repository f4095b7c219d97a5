"""URL patterns of the sandbox's Graph API: /sandbox/graph/{v1.0|beta}/<path>.

beta mirrors v1.0 for every endpoint here. Anything else under a version root answers Graph's
"Resource not found for the segment" error rather than an HTML 404.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path, register_converter

from .auth import graph_endpoint
from .errors import bad_request
from .graph_views import (
    account_ops,
    audit_logs,
    auth_methods,
    batch,
    deleted_items,
    delta,
    devices,
    drive,
    groups,
    identity_protection,
    invitations,
    licenses,
    mailbox_settings,
    manager,
    oauth_grants,
    organization,
    partner,
    role_management,
    security_writes,
    service_principals,
    sharepoint_items,
    signins,
    users,
)


class GraphVersionConverter:
    regex = r"v1\.0|beta"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(GraphVersionConverter, "graphversion")


@graph_endpoint(methods=("GET", "POST", "PATCH", "PUT", "DELETE"))
def unknown_segment(request: HttpRequest, rest: str) -> HttpResponse:
    segment = rest.strip("/").split("/")[0] or rest
    raise bad_request(f"Resource not found for the segment '{segment}'.", code="BadRequest")


def _v(route: str) -> str:
    return f"<graphversion:version>/{route}"


urlpatterns = [
    path(_v("users"), users.users_collection, name="graph-users"),
    path(_v("users/$count"), users.users_count, name="graph-users-count"),
    path(_v("users/delta"), delta.users_delta, name="graph-users-delta"),
    path(_v("users/microsoft.graph.delta()"), delta.users_delta),
    path(_v("users/<str:user_key>"), users.user_item, name="graph-user"),
    path(_v("users/<str:user_key>/assignLicense"), licenses.assign_license, name="graph-user-assign-license"),
    path(_v("users/<str:user_key>/microsoft.graph.assignLicense"), licenses.assign_license),
    path(_v("users/<str:user_key>/memberOf"), users.user_member_of, name="graph-user-member-of"),
    path(_v("users/<str:user_key>/memberOf/<str:cast>"), users.user_member_of),
    path(
        _v("directory/deletedItems/microsoft.graph.user"),
        deleted_items.deleted_users,
        name="graph-deleted-users",
    ),
    path(_v("directory/deletedItems/<str:object_id>"), deleted_items.deleted_item, name="graph-deleted-item"),
    path(_v("directory/deletedItems/<str:object_id>/restore"), deleted_items.restore_deleted_item),
    path(_v("subscribedSkus"), licenses.subscribed_skus, name="graph-subscribed-skus"),
    path(_v("groups"), groups.groups_collection, name="graph-groups"),
    path(_v("groups/<str:group_id>"), groups.group_item, name="graph-group"),
    path(_v("groups/<str:group_id>/members"), groups.group_members, name="graph-group-members"),
    path(_v("groups/<str:group_id>/members/$ref"), groups.group_members_ref, name="graph-group-members-ref"),
    path(_v("groups/<str:group_id>/members/<str:member_id>/$ref"), groups.group_member_ref),
    path(_v("directoryRoles"), groups.directory_roles, name="graph-directory-roles"),
    path(_v("users/<str:user_key>/transitiveMemberOf"), users.user_transitive_member_of),
    path(_v("users/<str:user_key>/transitiveMemberOf/<str:cast>"), users.user_transitive_member_of),
    path(
        _v("roleManagement/directory/roleDefinitions"),
        role_management.role_definitions,
        name="graph-role-definitions",
    ),
    path(_v("roleManagement/directory/roleDefinitions/<str:definition_id>"), role_management.role_definition),
    path(
        _v("roleManagement/directory/roleAssignments"),
        role_management.role_assignments,
        name="graph-role-assignments",
    ),
    path(_v("roleManagement/directory/roleAssignments/<str:assignment>"), role_management.role_assignment),
    path(_v("organization"), organization.organization, name="graph-organization"),
    path(_v("domains"), organization.domains, name="graph-domains"),
    path(_v("tenantRelationships/delegatedAdminCustomers"), partner.delegated_admin_customers),
    path(_v("$batch"), batch.batch, name="graph-batch"),
    # View user reads (graph_views/auth_methods, devices, signins, mailbox_settings, drive)
    path(_v("users/<str:user_key>/authentication/methods"), auth_methods.authentication_methods),
    path(_v("users/<str:user_key>/authentication/requirements"), security_writes.requirements),
    path(_v("users/<str:user_key>/ownedDevices"), devices.owned_devices, name="graph-user-owned-devices"),
    path(_v("users/<str:user_key>/registeredDevices"), devices.registered_devices),
    path(_v("users/<str:user_key>/mailboxSettings"), mailbox_settings.mailbox_settings),
    path(_v("users/<str:user_key>/drive"), drive.user_drive, name="graph-user-drive"),
    path(_v("auditLogs/signIns"), signins.sign_ins, name="graph-signins"),
    # Security actions (graph_views/security_writes, service_principals)
    path(
        _v("policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"),
        security_writes.tap_policy_configuration,
    ),
    path(
        _v("users/<str:user_key>/authentication/temporaryAccessPassMethods"),
        security_writes.temporary_access_pass_methods,
    ),
    path(
        _v("users/<str:user_key>/authentication/<str:segment>/<str:method_id>"),
        security_writes.authentication_method_item,
    ),
    path(_v("servicePrincipals"), service_principals.service_principals),
    path(_v("servicePrincipals/<str:sp_id>/addPassword"), service_principals.add_password),
    path(_v("servicePrincipals/<str:sp_id>/removePassword"), service_principals.remove_password),
    # SharePoint sites, library folders by URL, OneDrive shortcuts (graph_views/sharepoint_items)
    path(_v("shares/<str:share_id>/driveItem"), sharepoint_items.share_drive_item),
    path(_v("sites/<path:rest>"), sharepoint_items.site_item),
    path(_v("users/<str:user_key>/drive/root/children"), sharepoint_items.user_drive_root_children),
    # account actions (graph_views/account_ops)
    path(_v("users/<str:user_key>/revokeSignInSessions"), account_ops.revoke_sign_in_sessions),
    path(
        _v("users/<str:user_key>/microsoft.graph.revokeSignInSessions"), account_ops.revoke_sign_in_sessions
    ),
    path(
        _v("users/<str:user_key>/authentication/methods/<str:method_id>/resetPassword"),
        account_ops.reset_password,
    ),
    path(
        _v("users/<str:user_key>/authentication/methods/<str:method_id>/microsoft.graph.resetPassword"),
        account_ops.reset_password,
    ),
    path(
        _v("users/<str:user_key>/authentication/operations/<str:operation_id>"),
        account_ops.password_operation,
    ),
    # compromise research sources (graph_views/audit_logs, oauth_grants, identity_protection)
    path(_v("auditLogs/directoryAudits"), audit_logs.directory_audits, name="graph-directory-audits"),
    path(_v("auditLogs/directoryAudits/<str:audit_id>"), audit_logs.directory_audit_item),
    path(_v("users/<str:user_key>/oauth2PermissionGrants"), oauth_grants.user_oauth2_grants),
    path(_v("oauth2PermissionGrants"), oauth_grants.oauth2_grants),
    path(_v("oauth2PermissionGrants/<str:grant_id>"), oauth_grants.oauth2_grant_item),
    path(_v("users/<str:user_key>/appRoleAssignments"), oauth_grants.user_app_role_assignments),
    path(
        _v("users/<str:user_key>/appRoleAssignments/<str:assignment_id>"),
        oauth_grants.user_app_role_assignment_item,
    ),
    path(_v("servicePrincipals/<str:sp_id>"), oauth_grants.service_principal_item),
    path(_v("identityProtection/riskyUsers"), identity_protection.risky_users),
    path(_v("identityProtection/riskyUsers/dismiss"), identity_protection.dismiss),
    path(_v("identityProtection/riskyUsers/microsoft.graph.dismiss"), identity_protection.dismiss),
    path(_v("identityProtection/riskyUsers/confirmCompromised"), identity_protection.confirm_compromised),
    path(
        _v("identityProtection/riskyUsers/microsoft.graph.confirmCompromised"),
        identity_protection.confirm_compromised,
    ),
    path(_v("identityProtection/riskyUsers/<str:user_id>"), identity_protection.risky_user_item),
    # Add user / Invite guest / Edit user (graph_views/invitations, manager)
    path(_v("invitations"), invitations.invitations, name="graph-invitations"),
    path(_v("users/<str:user_key>/manager"), manager.manager, name="graph-user-manager"),
    path(_v("users/<str:user_key>/manager/$ref"), manager.manager_ref, name="graph-user-manager-ref"),
    # must stay last
    path(_v("<path:rest>"), unknown_segment),
]
