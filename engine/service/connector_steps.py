"""The command that ends a service task's wait: a connector worker called the endpoint (outside any
transaction) and hands in the outputs. Like completing a user task: under the case's row lock, the
engine step, the task, timers, audit events (the call's summary first) and outbox in one commit.
A task no longer waiting (a boundary timer cancelled it meanwhile) writes nothing. The task's open
incidents (earlier calls or steps that failed) are resolved as ``retried`` in the same commit."""

from __future__ import annotations

from engine import logctx
from engine.audit.chain import Recorder
from engine.service import outbox
from engine.service.incidents import Abort, records_incidents, resolve_retried_step
from engine.service.metered import counted
from engine.service.projection import apply_step
from engine.service.writes import LOCK_BY_TASK, LOCK_BY_TASK_PG, TASK_AND_OPEN, WAITING_TIMERS, Changes
from engine.workflow.runtime import EngineError, TaskNotReady
from engine.workflow.service_tasks import CONNECTOR_ROLE


@counted("connector_complete")
@records_incidents
def complete_connector_task(service, task_id: str, output: dict, call: dict, retried_by: str | None = None) -> bool:
    """True when the case moved on; False when the task no longer waits. ``retried_by``: the
    admin who queued the call again after an incident (resolved in that name; else ``system``)."""
    now = service.now()
    with service.db.write() as s:
        inst = s.scalars(LOCK_BY_TASK_PG if service.db.is_postgres else LOCK_BY_TASK, {"tid": task_id}).first()
        if inst is None:
            return False
        logctx.bind_case(inst.id)
        rows = {t.id: t for t in s.scalars(TASK_AND_OPEN, {"iid": inst.id, "tid": task_id})}
        task = rows.get(task_id)
        if task is None or task.state != "open" or task.role != CONNECTOR_ROLE:
            return False
        open_rows = {k: t for k, t in rows.items() if t.state == "open"}
        timer_rows = {t.task_id: t for t in s.scalars(WAITING_TIMERS, {"iid": inst.id})}
        pv = service.version(s, inst.version_id)
        try:
            result = service.engine.complete(pv, inst.state, task.id, output)
        except TaskNotReady:
            return False
        except EngineError as e:
            raise Abort(e, inst.id, inst.process_key, "connector", task_id=task.id) from None
        resolve_retried_step(s, now, retried_by or "system", inst.id, "connector", task.id)
        changes = Changes(s, inst, open_rows.values(), timer_rows.values())
        task.state, task.completed_at = "completed", now
        rec = Recorder(s, inst, now, "connector", CONNECTOR_ROLE)
        rec.add("connector_called", task.activity_id, task.name, call, task.id)
        service._save_state(inst, result, now)
        apply_step(s, inst, pv, result, rec, completed_task=task, open_rows=open_rows, timer_rows=timer_rows)
        changes.write()
        outbox.publish(s, rec.written)
    service.timers_changed()
    return True
