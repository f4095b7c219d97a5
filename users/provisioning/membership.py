"""One user joining or leaving one group, whatever the group's kind — shared by the Add to group and Remove
from group actions and by the provisioning steps, so all of them treat the kinds the same way:

* Security and Microsoft 365 groups: Graph ``members/$ref`` (POST to add, DELETE to remove), planned as
  ``BatchRequest``s so callers send many together in ``$batch``;
* distribution lists and mail-enabled security groups (read-only in Graph): Exchange
  ``Add-`` / ``Remove-DistributionGroupMember``;
* dynamic groups and groups synced from on-premises AD: refused with the reason, nothing is sent.

"Already a member" (adding) and "not a member" (removing) are skips, not failures. A group's kind is taken
from Graph's description of it (``graph.services.groups.classify``), re-read before writing where the
caller only has a form's word for it.
"""

from __future__ import annotations

from graph.batch import BatchRequest, BatchResult
from graph.errors import GraphError, NotFoundError
from graph.services import groups as group_service
from graph.services import mailbox_admin
from graph.services import provisioning as graph_provisioning
from users.actions.registry import Status

from .types import StepResult

ALREADY_MEMBER = "Already a member."
NOT_MEMBER = "Not a member."


def _ids(error: GraphError | None, result: BatchResult | None = None) -> list[str]:
    found = [getattr(error, "request_id", None)]
    if result is not None:
        found.append(str((result.headers or {}).get("request-id") or ""))
    return list(dict.fromkeys(rid for rid in found if rid))


def _details(choice: dict) -> dict:
    return {"group_id": choice.get("id"), "group_name": choice.get("name"), "kind": choice.get("kind")}


def _done(choice: dict, *, remove: bool, step: str) -> StepResult:
    verb = "Removed from" if remove else "Added to"
    return StepResult(step, Status.SUCCESS, f"{verb} {choice.get('name')} ({choice.get('kind')}).",
                      details=_details(choice))  # fmt: skip


def refusal(choice: dict, *, step: str = "groups") -> StepResult | None:
    """A SKIPPED result when the group cannot be changed from here (dynamic, synced), else None."""
    if choice.get("via") in ("graph", "exchange"):
        return None
    why = choice.get("why_not") or "its kind is unknown"
    name = choice.get("name") or "The group"
    return StepResult(
        step, Status.SKIPPED, f"{name} cannot be changed from here: {why}.", details=_details(choice)
    )


def graph_request(choice: dict, user_id: str, request_id: str, *, remove: bool = False) -> BatchRequest:
    if remove:
        return graph_provisioning.remove_member_request(choice["id"], user_id, request_id)
    return group_service.add_member_request(choice["id"], user_id, request_id)


def from_graph_result(choice: dict, result: BatchResult | None, *, remove: bool = False,
                      step: str = "groups") -> StepResult:  # fmt: skip
    """The result of a planned ``members/$ref`` write."""
    if result is None:
        return StepResult(
            step, Status.FAILED, "Graph returned no answer for this change.", details=_details(choice)
        )
    if result.ok:
        return _done(choice, remove=remove, step=step)
    error = result.error
    request_ids = _ids(error, result)
    if not remove and group_service.is_already_member_error(error):
        return StepResult(step, Status.SKIPPED, ALREADY_MEMBER, request_ids, _details(choice))
    if remove and result.status == 404:
        # Graph answers a DELETE of a reference that does not exist with 404 Request_ResourceNotFound.
        return StepResult(step, Status.SKIPPED, NOT_MEMBER, request_ids, _details(choice))
    message = error.message if error else f"Graph answered HTTP {result.status}."
    return StepResult(step, Status.FAILED, message, request_ids, _details(choice))


def through_graph_now(client, choice: dict, user_id: str, *, remove: bool = False,
                      step: str = "groups") -> StepResult:  # fmt: skip
    """The same write as ``graph_request`` sent on its own (when the kind turned out Graph-writable late)."""
    try:
        if remove:
            graph_provisioning.remove_member(client, choice["id"], user_id)
        else:
            group_service.add_member(client, choice["id"], user_id)
    except GraphError as error:
        # Read the single answer the way a $batch item's answer is read.
        answer = BatchResult("now", error.status or 0, error=error)
        return from_graph_result(choice, answer, remove=remove, step=step)
    return _done(choice, remove=remove, step=step)


def through_exchange(exchange, choice: dict, member: str, *, remove: bool = False, step: str = "groups",
                     new_user: bool = False) -> StepResult:  # fmt: skip
    """``Add-`` / ``Remove-DistributionGroupMember`` for ``member`` (its address or UPN)."""
    # The group's address names it unambiguously in Exchange; its object id works too.
    identity = choice.get("mail") or choice["id"]
    try:
        if remove:
            changed = graph_provisioning.remove_distribution_group_member(exchange, identity, member)
        else:
            changed = mailbox_admin.add_distribution_group_member(exchange, identity, member)
    except GraphError as error:
        message = error.message
        if new_user and isinstance(error, NotFoundError):
            message = (
                f"Exchange does not know {member} yet: a new user's mailbox takes a few minutes to appear. "
                f"Add them to {choice.get('name')} again in a few minutes. (Exchange said: {error.message})"
            )
        return StepResult(step, Status.FAILED, message, _ids(error), _details(choice))
    if not changed:
        return StepResult(
            step, Status.SKIPPED, NOT_MEMBER if remove else ALREADY_MEMBER, details=_details(choice)
        )
    return _done(choice, remove=remove, step=step)


def rederive(choice: dict, result: BatchResult | None) -> dict | StepResult:
    """The group as Graph describes it now (from a planned ``GET /groups/{id}``), or the FAILED result when
    Graph could not find it. When the read itself failed otherwise, the form's description is kept (as
    CIPP does) so a transient read error does not block a change Exchange can still make."""
    if result is None or (not result.ok and result.status != 404):
        return choice
    if not result.ok:
        error = result.error
        return StepResult("groups", Status.FAILED, error.message if error else "The group no longer exists.",
                          _ids(error, result), _details(choice))  # fmt: skip
    return group_service.classify(result.body or {}).as_data()


def change(ctx, choice: dict, user: dict, planned: BatchResult | None, *, remove: bool = False,
           step: str = "groups", new_user: bool = False) -> StepResult:  # fmt: skip
    """Finish one membership change whose Graph part (if any) was planned and sent: ``planned`` is the
    ``members/$ref`` result for Graph kinds. For Exchange kinds nothing was planned and Exchange runs now."""
    refused = refusal(choice, step=step)
    if refused is not None:
        return refused
    if choice["via"] == "graph":
        return from_graph_result(choice, planned, remove=remove, step=step)
    member = user.get("mail") or user.get("userPrincipalName") or user["id"]
    return through_exchange(ctx.exchange, choice, member, remove=remove, step=step, new_user=new_user)


# --- the Add to group / Remove from group actions ------------------------------------------------------------

ACTION_REQUEST_ID = "membership"


def action_request(choice: dict, user_id: str, *, remove: bool = False) -> BatchRequest:
    """What an action plans for one target: the ``members/$ref`` write for Graph kinds; for Exchange kinds a
    read of the group, so the kind is re-derived from Graph (not trusted from the form) before Exchange
    is asked."""
    if choice.get("via") == "graph":
        return graph_request(choice, user_id, ACTION_REQUEST_ID, remove=remove)
    return graph_provisioning.get_group_request(choice["id"], ACTION_REQUEST_ID)


def action_result(ctx, choice: dict, user: dict, results: dict, *, remove: bool = False) -> StepResult:
    """The target's result from its planned request (see ``action_request``)."""
    planned = results.get(ACTION_REQUEST_ID)
    if planned is None and len(results) == 1:
        planned = next(iter(results.values()))
    refused = refusal(choice)
    if refused is not None:
        return refused
    if choice["via"] == "graph":
        return from_graph_result(choice, planned, remove=remove)
    current = rederive(choice, planned)
    if isinstance(current, StepResult):
        return current
    refused = refusal(current)
    if refused is not None:
        return refused
    if current["via"] == "graph":  # the form's list was older than the group's current kind
        return through_graph_now(ctx.graph, current, str(user["id"]), remove=remove)
    member = user.get("mail") or user.get("userPrincipalName") or str(user["id"])
    return through_exchange(ctx.exchange, current, member, remove=remove)


def target_record(target) -> dict:
    """The Graph-shaped identity of an action target's cached row."""
    row = target.user
    return {"id": str(row.user_id), "userPrincipalName": row.user_principal_name, "mail": row.mail or ""}
