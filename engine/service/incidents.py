"""Incidents: an engine step that failed. The command's transaction rolls back (the case is left
unchanged) and the failure is recorded on its own, with an audit event outside the case's chain,
for an admin to look at and retry."""

from __future__ import annotations

import functools

from engine.audit.chain import record_standalone
from engine.service.actor import Actor
from engine.service.errors import StepFailed
from engine.store.models import Incident
from engine.workflow.runtime import EngineError


class Abort(Exception):
    """Leaves the command's transaction (rolling it back) carrying the engine's failure."""

    def __init__(self, error: EngineError, instance_id, process_key, command):
        self.error, self.instance_id, self.process_key, self.command = error, instance_id, process_key, command


def records_incidents(method):
    """A command method whose ``Abort`` becomes an incident, then a StepFailed for the caller
    (the timer worker's ``fire_timers`` answers 0 fired instead)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Abort as a:
            actor = args[0] if args and isinstance(args[0], Actor) else kwargs.get("actor")
            record_incident(self, a.instance_id, a.process_key, a.error, a.command, actor)
            if a.command == "fire_timers":
                return 0
            raise step_failed(a.error) from None

    return wrapper


def record_incident(service, instance_id, process_key, err: EngineError, command: str, actor: Actor | None) -> None:
    now = service.now()
    with service.db.write() as s:
        row = Incident(
            instance_id=instance_id,
            process_key=process_key,
            activity_id=err.activity_id,
            activity_name=err.activity_name,
            command=command,
            message=err.message,
            actor=actor.username if actor else None,
            created_at=now,
        )
        s.add(row)
        s.flush()
        data = {"incident_id": row.id, "process_instance_id": instance_id, "command": command, "message": err.message}
        record_standalone(
            s,
            now,
            "incident",
            actor.username if actor else "system",
            None,
            data,
            process_key=process_key,
            activity_id=err.activity_id,
            activity_name=err.activity_name,
        )


def step_failed(e: EngineError) -> StepFailed:
    return StepFailed(
        "流程步骤执行失败，案件保持不变",
        "an engine step failed; the case is unchanged",
        activity_id=e.activity_id,
        activity_name=e.activity_name,
        engine_message=e.message,
    )
