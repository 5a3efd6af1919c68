"""An admin's retry of an incident (a failed engine step), through the core and audited.

What can be retried depends on the step that failed, since a failed step changed nothing:

* ``connector``: the connector call is queued again (engine/integration/jobs.py);
* ``fire_timers``: the case's due timers are fired now, under the case's lock (the timer worker
  also retries such a case by itself, with a growing delay; this is "now, and tell me whether it
  works"), then an ``incident_retried`` event names the admin;
* ``start``, ``complete``, ``message``: the step ran on data a person or system sent, which the
  incident does not keep (it may hold personal data): the sender sends again. Refused with a
  message saying who.
"""

from __future__ import annotations

from sqlalchemy import func, select

from engine.audit.chain import record_standalone
from engine.service.actor import Actor
from engine.service.errors import Conflict, NotFound, StepFailed
from engine.store.models import Incident, Instance

RETRYABLE = frozenset({"connector", "fire_timers"})

_REDO_BY = {
    "start": ("案件未能发起，未留下案件；请申请人重新提交", "no case was started; the applicant submits again"),
    "complete": (
        "任务仍在经办部门的待办中，由经办人重新提交",
        "the task is still open; its department submits it again",
    ),
    "message": ("消息未被接收，由发送方重新发送", "the message was not taken; its sender sends it again"),
}


def retry_incident(service, actor: Actor, incident_id: int) -> dict:
    with service.db.read() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            raise NotFound("没有该故障记录", "no such incident")
        command, instance_id = inc.command, inc.instance_id
        status = s.scalar(select(Instance.status).where(Instance.id == instance_id)) if instance_id else None
    if command == "connector":
        from engine.integration.jobs import retry_incident as retry_connector

        return dict(retry_connector(service, actor, incident_id), command=command)
    if command != "fire_timers":
        zh, en = _REDO_BY.get(command, ("该故障不能重试", "this incident cannot be retried"))
        raise Conflict(f"该故障不能由管理员重试：{zh}", f"not retried by an admin: {en}")
    if status != "running":
        raise Conflict("案件已不在办理中，无需重试", "the case is no longer running")
    with service.db.read() as s:
        last = s.scalar(select(func.max(Incident.id)).where(Incident.instance_id == instance_id))
    fired = service.fire_timers(instance_id, retried_by=actor.username)
    if not fired:
        with service.db.read() as s:
            again = s.scalar(
                select(Incident)
                .where(Incident.instance_id == instance_id, Incident.id > last)
                .order_by(Incident.id.desc())
                .limit(1)
            )
        if again is not None:
            raise StepFailed(
                "重试仍然失败，已记录新的故障",
                "the retry failed again; a new incident was recorded",
                incident_id=again.id,
                activity_id=again.activity_id,
                activity_name=again.activity_name,
                engine_message=again.message,
            )
        raise Conflict(
            "没有到期的定时器：已由定时器进程触发，或已不再等待",
            "no timer is due: the timer worker fired it meanwhile, or none waits",
        )
    with service.db.write() as s:
        record_standalone(
            s,
            service.now(),
            "incident_retried",
            actor.username,
            None,
            {"incident_id": incident_id, "process_instance_id": instance_id, "command": command, "fired": fired},
        )
    return {
        "incident_id": incident_id,
        "process_instance_id": instance_id,
        "command": command,
        "status": "fired",
        "fired": fired,
    }
