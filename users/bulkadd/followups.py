"""The follow-up half of the bulk import runner (users.bulkadd.runner): once a row's user exists, its
licences, groups, manager and aliases go out as units of their own, each retried on its own terms, and the
row is finished (success, or "created, some steps failed" with each failed step's reason) when the last
one answers. A manager who is another row of the file is waited for; a manager row that never got a user
fails that step with the reason. Mixed into ``Runner``, whose queues and counters it uses.
"""

from __future__ import annotations

from graph import http
from graph.batch import BatchResult
from users.models import BulkImportRow

from . import plan, store

Status = BulkImportRow.Status
NOT_VISIBLE_ATTEMPTS = 4  # 404 on a follow-up right after creation: replication lag


class FollowUps:
    def _queue_steps(self, row) -> None:
        for name, step in (row.steps or {}).items():
            if step.get("state") != "pending":
                continue
            if name == "manager" and row.resolved.get("manager_row") and not self._manager_id(row):
                manager_row = self.by_key.get(row.resolved["manager_row"])
                if (
                    manager_row is not None
                    and manager_row.status in BulkImportRow.FINISHED
                    and not manager_row.user_id
                ):
                    step.update(state="failed", message="The manager's row was not created.")
                    continue
                self.waiting_for_manager.setdefault(row.resolved["manager_row"], []).append(row.pk)
                continue
            self.urgent.append(self.unit("step", row.pk, step=name, alias_index=int(step.get("next", 0))))
        if all(s.get("state") != "pending" for s in row.steps.values()) and row.pk in self.rows:
            finished: dict[int, BulkImportRow] = {}
            self._finalise(row, finished)
            if finished:
                store.finish_rows(self.bulk_import, self.job, finished.values(), self.technician)
                store.write_through(self.bulk_import, list(finished.values()))

    def _flush_waiters(self) -> None:
        """Rows still waiting for a manager row that never got a user (should not happen: belt and braces)."""
        for key in list(self.waiting_for_manager):
            row = self.by_key.get(key)
            if row is not None:
                self._release_manager_waiters(row)

    def _manager_id(self, row) -> str | None:
        if row.resolved.get("manager_id"):
            return row.resolved["manager_id"]
        manager_row = self.by_key.get(row.resolved.get("manager_row") or "")
        return str(manager_row.user_id) if manager_row is not None and manager_row.user_id else None

    def _release_manager_waiters(self, manager_row) -> None:
        for pk in self.waiting_for_manager.pop(manager_row.key, []):
            row = self.rows[pk]
            if manager_row.user_id:
                self.urgent.append(self.unit("step", pk, step="manager"))
            else:
                row.steps["manager"].update(state="failed", message="The manager's row was not created.")
                if all(s.get("state") != "pending" for s in row.steps.values()):
                    finished: dict[int, BulkImportRow] = {}
                    self._finalise(row, finished)
                    store.finish_rows(self.bulk_import, self.job, finished.values(), self.technician)

    def _stepped(self, unit, row, result: BatchResult, changed, finished) -> None:
        name = unit.step
        self._note(row, result)
        changed[row.pk] = row
        last = plan.aliases_chain_length(row) - 1  # the aliases chain ends by making the UPN primary again
        if result.ok or (name.startswith("group:") and result.status == 400 and plan.already_member(result)):
            if name == "aliases" and unit.alias_index < last:
                row.steps[name]["next"] = unit.alias_index + 1
                self.urgent.append(self.unit("step", row.pk, step=name, alias_index=unit.alias_index + 1))
                return
            if name == "read":
                row.steps[name]["record"] = {
                    k: v for k, v in (result.body or {}).items() if not k.startswith("@")
                }
            problem = row.steps[name].pop("problem", "")  # an alias refused earlier in the chain
            self._step_done(row, name, "failed" if problem else "done", problem, result, changed, finished)
            return
        transient = result.status == 0 or result.status >= 500
        not_visible = result.status == 404 and unit.attempt + 1 < NOT_VISIBLE_ATTEMPTS
        if (transient and unit.attempt + 1 < http.max_attempts()) or not_visible:
            self._later(unit, http.retry_delay(unit.attempt + 1, None))
            return
        message = result.error.message if result.error else f"Graph answered HTTP {result.status}."
        if name == "licences" and "usage location" in message.lower():
            message += " (The row's usage location was not accepted.)"
        if name == "aliases" and 0 < unit.alias_index < last:
            # Earlier aliases made themselves primary one after the other: put the UPN back first.
            aliases = row.resolved.get("aliases") or []
            row.steps[name]["problem"] = (
                f"{aliases[unit.alias_index]} was not added ({message}); "
                f"{', '.join(aliases[unit.alias_index + 1 :]) or 'no other'} not tried."
            )
            row.steps[name]["next"] = last
            self.urgent.append(self.unit("step", row.pk, step=name, alias_index=last))
            return
        if name == "aliases" and unit.alias_index == last and last:
            message += " The primary e-mail address is still an alias: set it back to the UPN."
        self._step_done(row, name, "failed", message, result, changed, finished)

    def _step_done(self, row, name, state: str, message: str, result, changed, finished) -> None:
        row.steps[name].update(state=state, message=message)
        row.steps[name].pop("next", None)
        changed[row.pk] = row
        if all(s.get("state") != "pending" for s in row.steps.values()):
            self._finalise(row, finished)

    def _finalise(self, row, finished) -> None:
        failed = {name: s for name, s in (row.steps or {}).items() if s.get("state") == "failed"}
        done = "Invited" if self.bulk_import.kind == "guests" else "Created"
        if row.status in (Status.FAILED,):
            finished[row.pk] = row
            return
        if failed:
            row.status = Status.PARTIAL
            row.message = f"{done}, but: " + " ".join(
                f"{s.get('label', n)} — {s.get('message')}" for n, s in failed.items()
            )
        else:
            row.status = Status.SUCCESS
            parts = [s.get("label", n) for n, s in (row.steps or {}).items() if n != "read"]
            row.message = f"{done}." + (" " + "; ".join(parts) + "." if parts else "")
        finished[row.pk] = row
