"""Provisional working-day deadlines (a year the holiday calendar did not know yet) are
recomputed once an admin loads that year."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.runtime import TaskNotReady

from .audit import Recorder
from .models import Task, Timer


def recompute_provisional(service, year: int, actor: str) -> int:
    with service.db.read() as s:
        ids = [t.id for t in s.scalars(select(Timer).where(Timer.status == "waiting",
                                                           Timer.provisional.is_(True)))
               if t.calc and (t.due_at.year == year or datetime.fromisoformat(t.calc["start"]).year <= year)]
    done = 0
    for timer_id in ids:
        with service.db.write() as s:
            timer = s.get(Timer, timer_id)
            if timer is None or timer.status != "waiting" or not timer.provisional:
                continue
            inst = service._lock_instance(s, timer.instance_id)
            pv = service.version(s, inst.version_id)
            due, provisional = service.engine.calendar.workdays_after(
                datetime.fromisoformat(timer.calc["start"]), int(timer.calc["n"]))
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
            Recorder(s, inst, service.now(), actor, "admin").add(
                "timer_recomputed", timer.activity_id, pv.element_name(timer.activity_id),
                {"timer_id": timer.id, "old_due_at": old.isoformat(), "due_at": due.isoformat(),
                 "provisional": provisional}, timer.task_id)
            done += 1
    service._timers_changed()
    return done
