"""How a command writes the rows it read: prebuilt statements, Core inserts of new rows, and one
UPDATE per changed row with only its changed columns (the ORM's unit of work costs more than the
statements it emits on this path)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.store.models import NO_DUE, Instance, ProcessVersionRow, Task, Timer, task_audience

# Statements of the hot path, built once (building costs more than running them on SQLite).
LOCK = select(Instance).where(Instance.id == bindparam("iid"))
LOCK_PG = LOCK.with_for_update()
LOCK_PG_SKIP = LOCK.with_for_update(skip_locked=True)
LOCK_BY_TASK = select(Instance).where(
    Instance.id == select(Task.instance_id).where(Task.id == bindparam("tid")).scalar_subquery()
)
LOCK_BY_TASK_PG = LOCK_BY_TASK.with_for_update()
TASK_AND_OPEN = select(Task).where(
    Task.instance_id == bindparam("iid"), or_(Task.state == "open", Task.id == bindparam("tid"))
)
OPEN_TASKS = select(Task).where(Task.instance_id == bindparam("iid"), Task.state == "open")
# only the columns a start needs: the stored spec and XML are large
LATEST_VERSION = (
    select(
        ProcessVersionRow.id,
        ProcessVersionRow.key,
        ProcessVersionRow.version,
        ProcessVersionRow.name,
        ProcessVersionRow.starter_roles,
        ProcessVersionRow.start_form,
    )
    .where(ProcessVersionRow.key == bindparam("key"))
    .order_by(ProcessVersionRow.version.desc())
    .limit(1)
)
WAITING_TIMERS = select(Timer).where(Timer.instance_id == bindparam("iid"), Timer.status == "waiting")


INSERT_INSTANCE = insert(Instance.__table__).returning(Instance.__table__.c.id)
INSERT_TASK = insert(Task.__table__)
TIMER_INSERT_COLS = (
    "instance_id",
    "task_id",
    "activity_id",
    "due_at",
    "status",
    "provisional",
    "calc",
    "attached_task_id",
    "created_at",
    "fired_at",
)
INSERT_TIMER = insert(Timer.__table__).returning(Timer.__table__.c.id, sort_by_parameter_order=True)


def task_values(t: Task) -> dict:
    return dict(
        id=t.id,
        instance_id=t.instance_id,
        process_key=t.process_key,
        activity_id=t.activity_id,
        name=t.name,
        role=t.role,
        state=t.state,
        assignee_id=t.assignee_id,
        reserved_for_id=t.reserved_for_id,
        form_key=t.form_key,
        created_at=t.created_at,
        claimed_at=t.claimed_at,
        completed_at=t.completed_at,
        completed_by=t.completed_by,
        due_at=t.due_at,
        audience=task_audience(t.reserved_for_id, t.role),
        sort_due=t.due_at or NO_DUE,
        remind_at=t.remind_at,
        watch_at=t.watch_at,
        escalated_at=t.escalated_at,
    )


@dataclass
class StepRows:
    fired: int  # timers fired by the step
    new_tasks: list  # Task rows inserted (not in the session)
    new_timers: list  # Timer rows inserted, with their ids


class Changes:
    """The rows a command read, taken out of the session: the command changes them in memory,
    and ``write()`` sends one Core UPDATE per changed row with only the changed columns. (The
    ORM's unit of work costs more than the statements it emits on this path.)

    The instance row's UPDATE checks ``lock_version`` and bumps it, so a writer that raced past
    the row lock fails with StaleDataError (answered 409) instead of overwriting the state."""

    _COLUMNS = {
        Instance: (
            "status",
            "ended_at",
            "outcome_id",
            "outcome_name",
            "state",
            "updated_at",
            "last_seq",
            "last_hash",
            "display_name",
        ),
        Task: ("state", "assignee_id", "claimed_at", "completed_at", "completed_by", "due_at"),
        Timer: ("status", "fired_at", "due_at", "provisional", "calc"),
    }

    def __init__(self, session: Session, instance: Instance, tasks, timers):
        self.session = session
        self.rows = [instance, *tasks, *timers]
        for row in self.rows:
            if row in session:
                session.expunge(row)
        self.before = [self._values(row) for row in self.rows]

    def _values(self, row) -> dict:
        return {c: getattr(row, c) for c in self._COLUMNS[type(row)]}

    def write(self) -> None:
        conn = self.session.connection()  # Core statements need no ORM session machinery
        for row, before in zip(self.rows, self.before):
            now = self._values(row)
            changed = {c: v for c, v in now.items() if v != before[c]}
            if type(row) is Instance:
                params = {f"v_{c}": v for c, v in changed.items()}
                params.update(_id=row.id, _lock=row.lock_version, v_lock_version=row.lock_version + 1)
                if conn.execute(_update(Instance, frozenset(changed)), params).rowcount != 1:
                    raise StaleDataError(f"process instance {row.id} changed under this command")
                row.lock_version += 1
            elif changed:
                if type(row) is Timer and changed.get("status") == "fired":
                    # what this transaction fires, for whoever watches the commit (a test hook)
                    self.session.info.setdefault("fired_timers", set()).add(row.id)
                if type(row) is Task and "due_at" in changed:
                    changed["sort_due"] = changed["due_at"] or NO_DUE
                params = {f"v_{c}": v for c, v in changed.items()}
                params["_id"] = row.id
                conn.execute(_update(type(row), frozenset(changed)), params)


@functools.lru_cache(maxsize=512)
def _update(model, columns: frozenset[str]):
    """UPDATE of ``columns`` of one row by id (an instance also by its lock_version), built once
    per shape with every value a parameter."""
    table = model.__table__
    where = [table.c.id == bindparam("_id")]
    values = {c: bindparam(f"v_{c}") for c in sorted(columns)}
    if model is Instance:
        where.append(table.c.lock_version == bindparam("_lock"))
        values["lock_version"] = bindparam("v_lock_version")
    return update(table).where(*where).values(values)
