"""Provisional working-day deadlines (a year the holiday calendar did not know yet) are
recomputed once that year is known: right after an admin loads it, and by the timer worker when
it sees another process load one (and every few minutes, for a deadline some process armed just
before it saw the new year)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.audit.chain import Recorder
from engine.store.models import Task, Timer
from engine.workflow.runtime import TaskNotReady


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def recompute_provisional(service, year: int | None, actor: str) -> int:
    """Recompute waiting provisional timers (those that touch ``year``, or all when None) with the
    calendar this process has now. A timer whose answer did not change is left alone; a changed
    one gets its new due time in the engine state, the timer row, the guarded task's ``due_at``
    and a ``timer_recomputed`` audit event, in one transaction per instance. Returns how many
    timers changed."""
    cal = service.engine.calendar
    with service.db.read() as s:
        rows = s.execute(
            select(Timer.id, Timer.due_at, Timer.calc).where(Timer.status == "waiting", Timer.provisional.is_(True))
        ).all()
    ids = []
    for timer_id, due_at, calc in rows:
        if not calc or "start" not in calc or "n" not in calc:
            continue
        if year is not None and not (_parse(calc["start"]).year <= year <= due_at.year):
            continue
        due, provisional = cal.workdays_after(_parse(calc["start"]), int(calc["n"]))
        if due != due_at or not provisional:
            ids.append(timer_id)
    role = None if actor == "system" else "admin"
    done = 0
    for timer_id in ids:
        with service.db.write() as s:
            timer = s.get(Timer, timer_id)
            if timer is None:
                continue
            inst = service._lock_instance(s, timer.instance_id)
            s.refresh(timer)  # re-read under the instance lock: a command may have fired it
            if timer.status != "waiting" or not timer.provisional or inst is None or inst.status != "running":
                continue
            due, provisional = cal.workdays_after(_parse(timer.calc["start"]), int(timer.calc["n"]))
            if due == timer.due_at and provisional:
                continue
            pv = service.version(s, inst.version_id)
            try:
                inst.state = service.engine.reschedule_timer(pv, inst.state, timer.task_id, due)
            except TaskNotReady:
                continue
            old = timer.due_at
            timer.due_at, timer.provisional = due, provisional
            if not provisional:
                timer.calc = None
            if timer.attached_task_id:
                task = s.get(Task, timer.attached_task_id)
                if task is not None and task.state == "open" and task.due_at == old:
                    task.due_at = due
            Recorder(s, inst, service.now(), actor, role).add(
                "timer_recomputed",
                timer.activity_id,
                pv.element_name(timer.activity_id),
                {
                    "timer_id": timer.id,
                    "old_due_at": old.isoformat(),
                    "due_at": due.isoformat(),
                    "provisional": provisional,
                },
                timer.task_id,
            )
            done += 1
    if done:
        service.timers_changed()
    return done
