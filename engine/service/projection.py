"""Projecting an engine step onto a case's rows: the audit events of what happened, timers armed,
moved, fired or cancelled, user tasks scheduled (and where a task's due time and reservation come
from), and the case's end.

Changes to rows the command loaded are made in memory (the command's ``Changes`` writes them);
new task and timer rows and the audit events are inserted here, in the command's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.chain import Recorder
from engine.service import notifications
from engine.service.incidents import resolve_ended_case
from engine.service.message_queue import queue_thrown
from engine.service.writes import INSERT_TASK, INSERT_TIMER, TIMER_INSERT_COLS, StepRows, task_values
from engine.store.models import Instance, Task, Timer, User
from engine.workdays import DEFAULT_CALENDAR, WorkdayCalendar
from engine.workflow import flow_settings
from engine.workflow.runtime import ProcessVersion, StepResult

SYSTEM = "system"


def apply_step(
    s: Session,
    inst: Instance,
    pv: ProcessVersion,
    result: StepResult,
    rec: Recorder,
    completed_task: Task | None,
    open_rows: dict[str, Task],
    timer_rows: dict[str, Timer],
    calendar: WorkdayCalendar | None = None,
) -> StepRows:
    now = rec.at
    timer_rows = dict(timer_rows)
    current = {t.task_id: t for t in result.timers}
    fired = _record_facts(s, inst, result, rec, now, open_rows, timer_rows, current)
    new_timers = _project_timers(inst, pv, rec, now, timer_rows, current)
    new_tasks = _schedule_tasks(
        s, inst, result, rec, now, completed_task, open_rows, timer_rows, pv, calendar or DEFAULT_CALENDAR
    )
    if result.messages:
        queue_thrown(s, inst, result.messages, rec)
    if _end_if_completed(inst, result, rec, now, open_rows):
        resolve_ended_case(s, now, inst.id)
    inst.updated_at = now
    conn = s.connection()  # Core inserts, like the audit events and Changes
    if new_tasks:
        conn.execute(INSERT_TASK, [task_values(t) for t in new_tasks])
        notifications.write(s, [notifications.for_task("task_created", t, now) for t in new_tasks])
    if new_timers:
        ids = (
            conn.execute(INSERT_TIMER, [{c: getattr(t, c) for c in TIMER_INSERT_COLS} for t in new_timers])
            .scalars()
            .all()
        )
        for t, i in zip(new_timers, ids):
            t.id = i
    rec.flush()
    return StepRows(fired, new_tasks, new_timers)


def _record_facts(
    s: Session,
    inst: Instance,
    result: StepResult,
    rec: Recorder,
    now: datetime,
    open_rows: dict[str, Task],
    timer_rows: dict[str, Timer],
    current: dict,
) -> int:
    """Audit events of the step's facts; cancelled tasks and fired timers marked. Returns how
    many timers fired."""
    fired = 0
    fired_rows: dict[str, Timer] = {}
    for f in result.facts:
        if f.transition == "start":
            continue
        if f.transition == "complete":
            rec.add("complete", f.activity_id, f.activity_name, f.data, f.task_id)
        elif f.transition == "cancel":
            row = open_rows.get(f.task_id)
            if row is not None:
                row.state = "cancelled"
                row.completed_at = now
                rec.add("cancel", f.activity_id, f.activity_name, {}, f.task_id, actor=SYSTEM, role=row.role)
        elif f.transition == "timer_fired":
            fired += 1
            cycle_goes_on = f.task_id in current  # a cycle's round: its row waits for the next one
            row = timer_rows.get(f.task_id) if cycle_goes_on else timer_rows.pop(f.task_id, None)
            if row is None:
                row = fired_rows.get(f.task_id)  # an earlier round of a cycle in this step
            if row is None and not cycle_goes_on and f.data.get("armed_due_at"):
                row = _armed_and_fired(s, inst, f, rec, now)
            data = {}
            if row is not None:
                data = {"due_at": f.data.get("due_at") or row.due_at.isoformat(), "timer_id": row.id}
                if not cycle_goes_on:
                    row.status, row.fired_at = "fired", now
                    if f.data.get("due_at"):  # a cycle's last round
                        row.due_at = datetime.fromisoformat(f.data["due_at"])
                    fired_rows[f.task_id] = row
            if f.data.get("cycle"):
                data["cycle"] = True
            rec.add("timer_fired", f.activity_id, f.activity_name, data, f.task_id, actor=SYSTEM, role=None)
        else:
            rec.add(
                f.transition,
                f.activity_id,
                f.activity_name,
                {} if f.transition == "end" else f.data,
                f.task_id,
                actor=SYSTEM,
                role=None,
            )
    return fired


def _armed_and_fired(s: Session, inst: Instance, f, rec: Recorder, now: datetime) -> Timer:
    """A timer armed and fired within one step (its deadline had passed when the case reached
    it): it gets its row and its ``timer_armed`` event like any other, so every fired timer in
    the trail has an id and a due time."""
    due_at = datetime.fromisoformat(f.data["armed_due_at"])
    row = Timer(
        instance_id=inst.id,
        task_id=f.task_id,
        activity_id=f.activity_id,
        due_at=due_at,
        status="fired",
        provisional=False,
        calc=None,
        attached_task_id=f.data.get("attached_to"),
        created_at=now,
        fired_at=now,
    )
    row.id = s.connection().execute(INSERT_TIMER, [{c: getattr(row, c) for c in TIMER_INSERT_COLS}]).scalar_one()
    rec.add(
        "timer_armed",
        f.activity_id,
        f.activity_name,
        {"due_at": due_at.isoformat(), "provisional": False},
        f.task_id,
        actor=SYSTEM,
        role=None,
    )
    return row


def _project_timers(
    inst: Instance, pv: ProcessVersion, rec: Recorder, now: datetime, timer_rows: dict[str, Timer], current: dict
) -> list[Timer]:
    """New timers are armed, vanished ones (not fired) were cancelled, moved ones follow."""
    new_timers = []
    for tid, row in list(timer_rows.items()):
        view = current.get(tid)
        if view is None:
            row.status = "cancelled"
            rec.add(
                "timer_cancelled", row.activity_id, pv.element_name(row.activity_id), {}, tid, actor=SYSTEM, role=None
            )
        elif view.due_at != row.due_at:  # a cycle moved on, or a recomputed deadline
            row.due_at, row.provisional = view.due_at, view.provisional
    for tid, view in current.items():
        if tid in timer_rows:
            continue
        row = Timer(
            instance_id=inst.id,
            task_id=tid,
            activity_id=view.activity_id,
            due_at=view.due_at,
            status="waiting",
            provisional=view.provisional,
            calc=view.calc,
            attached_task_id=view.attached_to,
            created_at=now,
            fired_at=None,
        )
        timer_rows[tid] = row
        new_timers.append(row)
        rec.add(
            "timer_armed",
            view.activity_id,
            pv.element_name(view.activity_id),
            {"due_at": view.due_at.isoformat(), "provisional": view.provisional},
            tid,
            actor=SYSTEM,
            role=None,
        )
    return new_timers


def _due_by_task(pv: ProcessVersion, timer_rows: dict[str, Timer]) -> dict[str, datetime]:
    """A user task's due time from the diagram: the earliest interrupting boundary timer waiting
    on it, else the boundary timer the flow's settings name as its deadline (``task_deadlines``)."""
    due: dict[str, datetime] = {}
    named: dict[str, datetime] = {}
    rules = (pv.resources.get("settings") or {}).get("task_deadlines") or {}
    for row in timer_rows.values():
        if row.status != "waiting" or not row.attached_task_id:
            continue
        el = pv.elements.get(row.activity_id) or {}
        if el.get("interrupting", True):
            prev = due.get(row.attached_task_id)
            due[row.attached_task_id] = row.due_at if prev is None else min(prev, row.due_at)
        elif rules.get(el.get("attached_to")) == row.activity_id:
            named[row.attached_task_id] = row.due_at
    return {**named, **due}


def _settings_deadline(
    pv: ProcessVersion, activity_id: str, role: str, now: datetime, cal: WorkdayCalendar
) -> tuple[datetime | None, datetime | None, bool]:
    """(due, reminder, provisional) of a new task from its flow's working-day settings."""
    settings = pv.resources.get("settings")
    n = flow_settings.task_deadline(settings, activity_id, role)
    if not isinstance(n, int) or isinstance(n, bool):
        return None, None, False
    due, provisional = cal.workdays_after(now, n)
    lead = flow_settings.reminder_workdays(settings)
    remind = cal.workdays_after(now, n - lead)[0] if lead and n > lead else None
    return due, remind, provisional


def _schedule_tasks(
    s: Session,
    inst: Instance,
    result: StepResult,
    rec: Recorder,
    now: datetime,
    completed_task: Task | None,
    open_rows: dict[str, Task],
    timer_rows: dict[str, Timer],
    pv: ProcessVersion,
    cal: WorkdayCalendar,
) -> list[Task]:
    """Rows for the user tasks the step made ready; open ones follow their deadline. A task's
    due time comes from the diagram's timers where they clock it, else from the working days its
    flow's settings give (which the deadline watch then follows: reminder, overdue, escalation)."""
    due_by_task = _due_by_task(pv, timer_rows)
    new_tasks = []
    enterprise = None
    for ut in result.user_tasks:
        row = open_rows.get(ut.id)
        if row is not None:
            if ut.id in due_by_task and row.due_at != due_by_task[ut.id]:
                row.due_at = due_by_task[ut.id]
            continue
        if completed_task is not None and ut.id == completed_task.id:
            continue
        # Reserved for one person: the enterprise for the applicant's tasks, or the user a
        # ``camunda:assignee="${var}"`` names in the case's data.
        reserved, reserved_name = None, None
        if ut.role == "applicant":
            if enterprise is None:
                enterprise = s.scalar(select(User.username).where(User.id == inst.enterprise_id))
            reserved, reserved_name = inst.enterprise_id, enterprise
        if ut.assignee_var:
            username = ut.data.get(ut.assignee_var)
            if isinstance(username, str):
                uid = s.scalar(select(User.id).where(User.username == username))
                if uid is not None:
                    reserved, reserved_name = uid, username
        due, remind, provisional = due_by_task.get(ut.id), None, False
        watched = due is None
        if watched:
            due, remind, provisional = _settings_deadline(pv, ut.activity_id, ut.role, now, cal)
        row = Task(
            id=ut.id,
            instance_id=inst.id,
            process_key=inst.process_key,
            activity_id=ut.activity_id,
            name=ut.name,
            role=ut.role,
            state="open",
            assignee_id=None,
            reserved_for_id=reserved,
            form_key=ut.form_key,
            created_at=now,
            claimed_at=None,
            completed_at=None,
            completed_by=None,
            due_at=due,
            remind_at=remind,
            watch_at=(remind or due) if watched else None,
            escalated_at=None,
        )
        new_tasks.append(row)
        data = {"role": ut.role, "reserved_for": reserved_name, "due_at": due.isoformat() if due else None}
        if watched and due is not None:
            data.update(deadline_source="settings", remind_at=remind.isoformat() if remind else None)
            if provisional:
                data["due_provisional"] = True
        rec.add("scheduled", ut.activity_id, ut.name, data, ut.id, actor=SYSTEM, role=ut.role)
    return new_tasks


def _end_if_completed(
    inst: Instance, result: StepResult, rec: Recorder, now: datetime, open_rows: dict[str, Task]
) -> bool:
    if result.status != "completed" or inst.status != "running":
        return False
    inst.status, inst.ended_at = "completed", now
    if result.outcome:
        inst.outcome_id, inst.outcome_name = result.outcome["id"], result.outcome["name"]
    for row in open_rows.values():  # anything still open when the process ended
        if row.state == "open":
            row.state, row.completed_at = "cancelled", now
    rec.add(
        "instance_completed",
        inst.outcome_id,
        inst.outcome_name,
        {"outcome": result.outcome},
        None,
        actor=SYSTEM,
        role=None,
    )
    return True
