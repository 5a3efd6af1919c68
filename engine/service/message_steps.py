"""The command that hands a message to one waiting case: under the case's row lock, the engine
step, tasks, timers, audit events and outbox in one commit; a case not (or no longer) waiting for
it writes nothing."""

from __future__ import annotations

from engine.audit.chain import Recorder
from engine.service import outbox
from engine.service.incidents import Abort, records_incidents
from engine.service.metered import counted
from engine.service.projection import apply_step
from engine.service.writes import OPEN_TASKS, WAITING_TIMERS, Changes
from engine.workflow.messages import receive
from engine.workflow.runtime import EngineError


@counted("message")
@records_incidents
def deliver_to_case(
    service, instance_id: int, name: str, payload: dict, result_var: str | None, correlation: dict | None, sender: str
) -> bool:
    now = service.now()
    with service.db.write() as s:
        inst = service._lock_instance(s, instance_id)
        if inst is None or inst.status != "running":
            return False
        pv = service.version(s, inst.version_id)
        try:
            result = receive(service.engine, pv, inst.state, name, payload, result_var, correlation, sender)
        except EngineError as e:
            raise Abort(e, inst.id, inst.process_key, "message") from None
        if result is None:
            return False
        open_rows = {t.id: t for t in s.scalars(OPEN_TASKS, {"iid": inst.id})}
        timer_rows = {t.task_id: t for t in s.scalars(WAITING_TIMERS, {"iid": inst.id})}
        changes = Changes(s, inst, open_rows.values(), timer_rows.values())
        rec = Recorder(s, inst, now, sender, None)
        service._save_state(inst, result, now)
        apply_step(s, inst, pv, result, rec, completed_task=None, open_rows=open_rows, timer_rows=timer_rows)
        changes.write()
        outbox.publish(s, rec.written)
    service.timers_changed()
    return True
