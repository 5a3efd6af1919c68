"""Incidents: an engine step that failed. The command's transaction rolls back (the case is left
unchanged) and the failure is recorded on its own, with an audit event outside the case's chain,
for an admin to look at and retry.

An incident is ``open`` until it no longer needs anyone's attention, then ``resolved`` — who,
when and why (``resolution``), each with an ``incident_resolved`` audit event written in the
same transaction as the change:

* ``retried``: the failed step ran after all, in the transaction of that step: a case's due
  timers fired (``fire_timers``: an admin's retry, or the timer worker's own) resolve the case's
  open timer-step incidents; a connector task completed with its call's answer resolves that
  task's open incidents (in the name of the admin who queued the call again);
* ``superseded``: the case ended (in the step that ended it): nothing of it is left to retry;
* ``manual``: an admin marked it handled, with a note (``resolve_by_hand``).

A retry that fails again leaves the incident open and records a new one (both open until the
step succeeds). Resolving by hand changes nothing else: a connector call parked on the incident
still waits, and can still be retried.
"""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.audit.chain import record_standalone
from engine.service.actor import Actor
from engine.service.errors import Conflict, Invalid, NotFound, StepFailed
from engine.store.models import Incident
from engine.workflow.runtime import EngineError

OPEN, RESOLVED = "open", "resolved"
RETRIED, SUPERSEDED, MANUAL = "retried", "superseded", "manual"
MAX_NOTE = 1000
_T = Incident.__table__


class Abort(Exception):
    """Leaves the command's transaction (rolling it back) carrying the engine's failure."""

    def __init__(self, error: EngineError, instance_id, process_key, command, task_id: str | None = None):
        self.error, self.instance_id, self.process_key, self.command = error, instance_id, process_key, command
        self.task_id = task_id


def records_incidents(method):
    """A command method whose ``Abort`` becomes an incident, then a StepFailed for the caller
    (the timer worker's ``fire_timers`` answers 0 fired instead)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Abort as a:
            actor = args[0] if args and isinstance(args[0], Actor) else kwargs.get("actor")
            record_incident(self, a.instance_id, a.process_key, a.error, a.command, actor, a.task_id)
            if a.command == "fire_timers":
                return 0
            raise step_failed(a.error) from None

    return wrapper


def record_incident(
    service, instance_id, process_key, err: EngineError, command: str, actor: Actor | None, task_id: str | None = None
) -> None:
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
            task_id=task_id,
            status=OPEN,
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


def resolve(s: Session, at: datetime, by: str, resolution: str, *where, note: str | None = None) -> list[int]:
    """Resolve the open incidents matching ``where``, in the caller's transaction, each with its
    ``incident_resolved`` audit event. Returns their ids. The UPDATE itself says which rows were
    still open (RETURNING): of two transactions resolving the same incident, only the one that
    changed it writes an event."""
    rows = s.execute(
        update(_T)
        .where(_T.c.status == OPEN, *where)
        .values(status=RESOLVED, resolved_at=at, resolved_by=by, resolution=resolution, resolution_note=note)
        .returning(_T.c.id, _T.c.instance_id, _T.c.process_key, _T.c.activity_id, _T.c.activity_name, _T.c.command)
    ).all()
    for r in sorted(rows):
        data = {
            "incident_id": r.id,
            "process_instance_id": r.instance_id,
            "command": r.command,
            "resolution": resolution,
        }
        if note is not None:
            data["note"] = note
        record_standalone(
            s,
            at,
            "incident_resolved",
            by,
            None,
            data,
            process_key=r.process_key,
            activity_id=r.activity_id,
            activity_name=r.activity_name,
        )
    return sorted(r.id for r in rows)


def resolve_retried_step(s: Session, at: datetime, by: str, instance_id: int, command: str, task_id=None) -> None:
    """The step that failed ran after all (in the caller's transaction): its case's open
    incidents of that step are resolved as ``retried``. A connector step is its task
    (``task_id``); a timer step is the case's due timers, which fire together."""
    where = [_T.c.instance_id == instance_id, _T.c.command == command]
    if task_id is not None:
        where.append(_T.c.task_id == task_id)
    resolve(s, at, by, RETRIED, *where)


def resolve_ended_case(s: Session, at: datetime, instance_id: int) -> None:
    """The case ended in the caller's step: what is still open of it is ``superseded``."""
    resolve(s, at, "system", SUPERSEDED, _T.c.instance_id == instance_id)


def resolve_by_hand(service, actor: Actor, incident_id: int, note: str | None) -> None:
    """An admin marks an incident handled, with a note (who, when, why, audited)."""
    note = (note or "").strip()
    if not note:
        raise Invalid("请填写处理说明", "note is required", {"note": ["必填 / required"]})
    if len(note) > MAX_NOTE:
        raise Invalid(
            "处理说明过长", "note is too long", {"note": [f"不超过 {MAX_NOTE} 字 / at most {MAX_NOTE} characters"]}
        )
    with service.db.write() as s:
        if resolve(s, service.now(), actor.username, MANUAL, _T.c.id == incident_id, note=note):
            return
        inc = s.get(Incident, incident_id)
        if inc is None:
            raise NotFound("没有该故障记录", "no such incident")
        raise Conflict(
            "该故障已处理，不能重复标记",
            "the incident is resolved already",
            resolved_by=inc.resolved_by,
            resolution=inc.resolution,
        )


def step_failed(e: EngineError) -> StepFailed:
    return StepFailed(
        "流程步骤执行失败，案件保持不变",
        "an engine step failed; the case is unchanged",
        activity_id=e.activity_id,
        activity_name=e.activity_name,
        engine_message=e.message,
    )
