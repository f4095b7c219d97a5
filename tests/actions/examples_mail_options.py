"""Examples of Set email forwarding and Hide from / Show in address list (tests/actions/examples.py).

Targets are Northwind Traders user mailboxes (cloud users; its outbound spam policy allows external
forwarding in the demo seed). The forwarding example forwards to a colleague picked from the directory cache,
so the colleague's cache row is written first, as the directory sync would have.
"""

from __future__ import annotations

from .examples import ActionExample, tenant_named


def mailboxes(world, *, name: str = "Northwind Traders", **filters):
    from graph.sandbox.models import SandboxMailbox

    return list(
        SandboxMailbox.objects.filter(user__tenant=tenant_named(world, name), recipient_type_details="UserMailbox",
                                      user__account_enabled=True, user__role_memberships__isnull=True, **filters)
        .exclude(user__properties__onPremisesSyncEnabled=True)
        .select_related("user").order_by("user__display_name", "user_id")
    )  # fmt: skip


def mailbox_member(world, *, skip: int = 0):
    return mailboxes(world, forwarding_smtp_address="", forwarding_address="")[skip].user


def recipient(world):
    """The colleague mail is forwarded to (cached like the sync would), never one of the targets."""
    return mailboxes(world)[-1].user


def cache_row(sandbox_user):
    from tenants.models import Tenant
    from users.sync import apply_user_record

    sandbox_user.refresh_from_db()
    tenant = Tenant.objects.get(tenant_id=sandbox_user.tenant_id)
    return apply_user_record(tenant, {**sandbox_user.properties, "id": str(sandbox_user.id)}, partial=False)


def forwarding_data(world) -> dict:
    row = cache_row(recipient(world))
    return {"destination": "internal", "internal_recipient": row.mail, "keep_copy": "on"}


def hidden_member(world, *, skip: int = 0):
    from graph.sandbox.models import SandboxMailbox

    user = mailbox_member(world, skip=4 + skip)
    SandboxMailbox.objects.filter(user=user).update(hidden_from_address_lists=True)
    return user


def _mailbox(user):
    from graph.sandbox.models import SandboxMailbox

    return SandboxMailbox.objects.get(user=user)


def _check_forwarding(user):
    box = _mailbox(user)
    assert box.forwarding_address and box.forwarding_smtp_address == ""
    assert box.deliver_to_mailbox_and_forward is True


def _check_hidden(user):
    assert _mailbox(user).hidden_from_address_lists is True


def _check_shown(user):
    assert _mailbox(user).hidden_from_address_lists is False


EXAMPLES = {
    "set-forwarding": ActionExample(mailbox_member, forwarding_data, check=_check_forwarding,
                                    second=lambda w: mailbox_member(w, skip=1)),
    "hide-from-address-list": ActionExample(lambda w: mailbox_member(w, skip=2), check=_check_hidden,
                                            second=lambda w: mailbox_member(w, skip=3)),
    "show-in-address-list": ActionExample(hidden_member, check=_check_shown,
                                          second=lambda w: hidden_member(w, skip=1)),
}  # fmt: skip
