"""The deadline watch: a clock on every government step without touching the diagram.

A task whose due time comes from its flow's settings (``task_deadlines`` /
``default_task_workdays``, engine/service/projection.py) carries ``watch_at``: its reminder time,
then its due time. The timer worker calls ``watch_deadlines`` on every pass; for each case with a
task whose ``watch_at`` has come it takes the case's row lock (``SKIP LOCKED`` on PostgreSQL: a
case another worker or a command holds is looked at on a later pass), re-reads the task under the
lock and, in one transaction with the case's audit events (through the case's Recorder) and the
outbox and notification rows:

* before the due time: ``deadline_reminder`` — the department (or the person the task is
  reserved for) is reminded; ``watch_at`` moves to the due time;
* at the due time: ``deadline_overdue`` for the department and ``escalated`` to the
  leading-group office, which is notified; ``escalated_at`` is set and ``watch_at`` cleared.

The task is not interrupted: it stays open with its department. Each step happens once: the
lock and the re-read make a second worker (or a second pass) find nothing left to do.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, func, select

from engine.audit.chain import Recorder
from engine.service import notifications, outbox
from engine.store.models import Task

log = logging.getLogger("siji.deadlines")

ESCALATE_TO = "leading_group_office"
ACTOR = "deadline-watch"
BATCH = 100

_DUE = (
    select(Task.instance_id, func.min(Task.watch_at).label("at"))
    .where(Task.state == "open", Task.watch_at <= bindparam("now"))
    .group_by(Task.instance_id)
    .order_by("at")
    .limit(bindparam("limit"))
)
_TASKS = select(Task).where(
    Task.instance_id == bindparam("iid"), Task.state == "open", Task.watch_at <= bindparam("now")
)
_NEXT = select(func.min(Task.watch_at)).where(Task.state == "open", Task.watch_at > bindparam("now"))


def watch_deadlines(service, limit: int = BATCH) -> int:
    """Remind, mark overdue and escalate every watched task whose moment has come (up to
    ``limit`` cases). Returns how many tasks were handled."""
    now = service.now()
    with service.db.read() as s:
        ids = [r[0] for r in s.execute(_DUE, {"now": now, "limit": limit})]
    done = 0
    for iid in ids:
        try:
            done += _watch_case(service, iid)
        except Exception:  # one broken case must not stop the others
            log.exception("deadline watch on case %s failed", iid)
    return done


def next_watch_in(service) -> float | None:
    """Seconds until the next watched moment, None when nothing is watched."""
    now = service.now()
    with service.db.read() as s:
        nxt = s.scalar(_NEXT, {"now": now})
    return None if nxt is None else max(0.0, (nxt - now).total_seconds())


def _watch_case(service, instance_id: int) -> int:
    with service.db.write() as s:
        inst = service._lock_instance(s, instance_id, skip_locked=True)
        if inst is None or inst.status != "running":
            return 0
        now = service.now()
        tasks = s.scalars(_TASKS, {"iid": instance_id, "now": now}).all()
        if not tasks:
            return 0  # another worker or pass got here first
        rec = Recorder(s, inst, now, ACTOR, None)
        notes = []
        for task in tasks:
            notes += _step(rec, task, now)
        rec.flush()
        outbox.publish(s, rec.written)
        notifications.write(s, notes)
        return len(tasks)


def _step(rec: Recorder, task: Task, now: datetime) -> list[dict]:
    due = task.due_at.isoformat() if task.due_at else None
    if task.due_at is not None and task.due_at > now:
        rec.add(
            "deadline_reminder",
            task.activity_id,
            task.name,
            {"due_at": due, "role": task.role},
            task.id,
            role=task.role,
        )
        task.watch_at = task.due_at
        return [notifications.for_task("reminder", task, now)]
    rec.add(
        "deadline_overdue", task.activity_id, task.name, {"due_at": due, "role": task.role}, task.id, role=task.role
    )
    rec.add(
        "escalated",
        task.activity_id,
        task.name,
        {"due_at": due, "role": task.role, "to": ESCALATE_TO, "interrupting": False},
        task.id,
        role=ESCALATE_TO,
    )
    task.escalated_at, task.watch_at = now, None
    return [
        notifications.for_task("overdue", task, now),
        notifications.for_task("escalation", task, now, audience=f"r:{ESCALATE_TO}", escalated_from=task.role),
    ]
