"""Commands: deploy, start, claim, unclaim, complete, fire timers.

Every command runs in one write transaction: it loads the instance under its lock, asks the
engine for the next state, and writes state, task projection, timers and audit events together.
When the engine fails nothing of the command is written; an incident is recorded on its own.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import roles
from engine.deploy import CompiledProcess, DeploymentRefused, Previous, UploadedFile, compile_deployment
from engine.forms import FormValidationError, compile_form
from engine.runtime import Engine, EngineError, ProcessVersion, StepResult, TaskNotReady, UnknownTaskRole

from . import pairing
from .audit import GENESIS, Recorder, event_hash
from .db import Database
from .models import (NO_DUE, AuditEvent, Deployment, IdempotencyKey, Incident, Instance, Pairing,
                     ProcessVersionRow, Task, Timer, User, UserRole, task_audience)


# Statements of the hot path, built once (building costs more than running them on SQLite).
_LOCK = select(Instance).where(Instance.id == bindparam("iid"))
_LOCK_PG = _LOCK.with_for_update()
_LOCK_PG_SKIP = _LOCK.with_for_update(skip_locked=True)
_LOCK_BY_TASK = select(Instance).where(
    Instance.id == select(Task.instance_id).where(Task.id == bindparam("tid")).scalar_subquery())
_LOCK_BY_TASK_PG = _LOCK_BY_TASK.with_for_update()
_TASK_AND_OPEN = select(Task).where(Task.instance_id == bindparam("iid"),
                                    or_(Task.state == "open", Task.id == bindparam("tid")))
_OPEN_TASKS = select(Task).where(Task.instance_id == bindparam("iid"), Task.state == "open")
# only the columns a start needs: the stored spec and XML are large
_LATEST_VERSION = (select(ProcessVersionRow.id, ProcessVersionRow.key, ProcessVersionRow.version,
                          ProcessVersionRow.name, ProcessVersionRow.starter_roles, ProcessVersionRow.start_form)
                   .where(ProcessVersionRow.key == bindparam("key"))
                   .order_by(ProcessVersionRow.version.desc()).limit(1))
_WAITING_TIMERS = select(Timer).where(Timer.instance_id == bindparam("iid"), Timer.status == "waiting")


_INSERT_INSTANCE = insert(Instance.__table__).returning(Instance.__table__.c.id)
_INSERT_TASK = insert(Task.__table__)
_TIMER_INSERT_COLS = ("instance_id", "task_id", "activity_id", "due_at", "status", "provisional", "calc",
                      "attached_task_id", "created_at", "fired_at")
_INSERT_TIMER = insert(Timer.__table__).returning(Timer.__table__.c.id, sort_by_parameter_order=True)


def _task_values(t: Task) -> dict:
    return dict(id=t.id, instance_id=t.instance_id, process_key=t.process_key, activity_id=t.activity_id,
                name=t.name, role=t.role, state=t.state, assignee_id=t.assignee_id,
                reserved_for_id=t.reserved_for_id, form_key=t.form_key, created_at=t.created_at,
                claimed_at=t.claimed_at, completed_at=t.completed_at, completed_by=t.completed_by,
                due_at=t.due_at, audience=task_audience(t.reserved_for_id, t.role), sort_due=t.due_at or NO_DUE)


@dataclass
class _StepRows:
    fired: int              # timers fired by the step
    new_tasks: list         # Task rows inserted (not in the session)
    new_timers: list        # Timer rows inserted, with their ids


class _Changes:
    """The rows a command read, taken out of the session: the command changes them in memory,
    and ``write()`` sends one Core UPDATE per changed row with only the changed columns. (The
    ORM's unit of work costs more than the statements it emits on this path.)

    The instance row's UPDATE checks ``lock_version`` and bumps it, so a writer that raced past
    the row lock fails with StaleDataError (answered 409) instead of overwriting the state."""

    _COLUMNS = {
        Instance: ("status", "ended_at", "outcome_id", "outcome_name", "state", "updated_at", "last_seq",
                   "last_hash"),
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
        conn = self.session.connection()   # Core statements need no ORM session machinery
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


class CommandError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message_zh: str, message_en: str, fields: dict | None = None, **extra):
        super().__init__(message_en)
        self.message_zh, self.message_en, self.fields, self.extra = message_zh, message_en, fields or {}, extra

    def body(self) -> dict:
        out = {"error": self.code, "message": f"{self.message_zh} / {self.message_en}",
               "message_zh": self.message_zh, "message_en": self.message_en}
        if self.fields:
            out["fields"] = self.fields
        out.update(self.extra)
        return out


class NotFound(CommandError):
    status, code = 404, "not_found"


class Forbidden(CommandError):
    status, code = 403, "forbidden"


class Conflict(CommandError):
    status, code = 409, "conflict"


class Invalid(CommandError):
    status, code = 422, "invalid"


class StepFailed(CommandError):
    status, code = 422, "engine_step_failed"


@dataclass
class Actor:
    id: int
    username: str
    roles: frozenset[str]

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & {"auditor", "admin"})

    def primary_role(self) -> str | None:
        return sorted(self.roles)[0] if self.roles else None


@dataclass
class Started:
    """A case just started, with what the command wrote: its answer needs no second read."""
    instance: Instance
    version: int
    process_version: ProcessVersion
    result: StepResult
    tasks: list[Task]
    timers: list[Timer]
    events: list[dict]
    names: dict[int, str]


class _Abort(Exception):
    """Leaves the command's transaction (rolling it back) carrying the engine's failure."""

    def __init__(self, error: EngineError, instance_id, process_key, command):
        self.error, self.instance_id, self.process_key, self.command = error, instance_id, process_key, command


def _records_incidents(method):
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except _Abort as a:
            actor = args[0] if args and isinstance(args[0], Actor) else kwargs.get("actor")
            self._incident(a.instance_id, a.process_key, a.error, a.command, actor)
            if a.command == "fire_timers":
                return 0
            raise _step_failed(a.error) from None
    return wrapper



class Service:
    """The application core shared by the API, the CLI and the timer worker."""

    def __init__(self, db: Database, engine: Engine):
        self.db = db
        self.engine = engine
        self.on_timers_changed = None   # set by the worker to wake up for an earlier timer

    @property
    def clock(self):
        return self.engine.clock

    def now(self) -> datetime:
        return self.engine.clock.now()

    # ------------------------------------------------------------------ versions
    def version(self, session: Session, version_id: int) -> ProcessVersion:
        def load():
            row = session.get(ProcessVersionRow, version_id)
            return {"id": row.id, "key": row.key, "version": row.version, "spec_state": row.spec_state,
                    "tasks": row.tasks, "elements": row.elements, "resources": row.resources}
        return self.engine.version(version_id, load)

    def latest_version(self, session: Session, key: str) -> ProcessVersionRow | None:
        return session.scalars(select(ProcessVersionRow).where(ProcessVersionRow.key == key)
                               .order_by(ProcessVersionRow.version.desc()).limit(1)).first()

    # ------------------------------------------------------------------ deploy
    def deploy(self, files: list[UploadedFile], actor: Actor | None) -> list[ProcessVersionRow]:
        with self.db.read() as s:
            prev = _PreviousResources(self, s)
            compiled = compile_deployment(files, prev)
        now = self.now()
        with self.db.write() as s:
            dep = Deployment(created_at=now, deployed_by=actor.id if actor else None,
                             files=[f.name for f in files])
            s.add(dep)
            s.flush()
            rows = []
            for cp in compiled:
                current = s.scalar(select(func.max(ProcessVersionRow.version)).where(ProcessVersionRow.key == cp.key))
                row = ProcessVersionRow(
                    deployment_id=dep.id, key=cp.key, version=(current or 0) + 1, name=cp.name,
                    bpmn_file=cp.bpmn_file, bpmn_xml=cp.bpmn_xml, spec_state=cp.spec_state,
                    tasks={k: v.as_dict() for k, v in cp.tasks.items()}, elements=cp.elements,
                    resources=cp.resources, start_form=cp.start_form, starter_roles=cp.starter_roles,
                    created_at=now)
                s.add(row)
                s.flush()
                data = {"process_key": cp.key, "version": row.version, "deployment_id": dep.id,
                        "files": [f.name for f in files]}
                h = event_hash(GENESIS, None, 1, now, None, cp.name, "deployed",
                               actor.username if actor else "system", "analyst", None, data)
                s.add(AuditEvent(instance_id=None, process_key=cp.key, seq=1, at=now, activity_id=None,
                                 activity_name=cp.name, transition="deployed",
                                 actor=actor.username if actor else "system", role="analyst", task_id=None,
                                 data=data, prev_hash=GENESIS, hash=h))
                rows.append(row)
        return rows

    # ------------------------------------------------------------------ options for forms
    def options(self, session: Session, pv: ProcessVersion | None) -> dict[str, list[dict]]:
        commissioners = session.execute(
            select(User.username, User.display_name).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "commissioner", User.active.is_(True)).order_by(User.username)).all()
        catalogue = ((pv.resources.get("catalogue") or {}).get("items") or []) if pv else []
        return {
            "commissioner_options": [{"label": d or u, "value": u} for u, d in commissioners],
            "catalogue_options": [{"label": i.get("name", i["code"]), "value": i["code"]} for i in catalogue],
            "department_options": [{"label": r.name_zh, "value": r.code} for r in roles.ROLES
                                   if r.department and r.code not in ("applicant", "leading_group_office")],
        }

    def _validate(self, session, pv: ProcessVersion, form: dict | None, data: Any) -> dict:
        if form is None:
            if data:
                raise Invalid("此步骤没有表单，不接受数据", "this step has no form and takes no data",
                              {k: ["未知字段 / unknown field"] for k in (data if isinstance(data, dict) else {"data": 1})})
            return {}
        compiled = _compiled_form(form)
        options = self.options(session, pv) if compiled.values_keys else None
        try:
            return compiled.validate(data, options)
        except FormValidationError as e:
            raise Invalid("表单数据有误", "invalid form data", e.errors) from None

    # ------------------------------------------------------------------ start
    def start(self, actor: Actor, process_key: str, business_key: str | None, variables: dict | None,
              on_behalf_of: str | None = None) -> int:
        return self.start_with_result(actor, process_key, business_key, variables, on_behalf_of).instance.id

    @_records_incidents
    def start_with_result(self, actor: Actor, process_key: str, business_key: str | None,
                          variables: dict | None, on_behalf_of: str | None = None) -> "Started":
        now = self.now()
        with self.db.write() as s:
            row = s.execute(_LATEST_VERSION, {"key": process_key}).first()
            if row is None:
                raise NotFound("没有该流程", f"no process '{process_key}'", {"process_key": ["未部署 / not deployed"]})
            if not (actor.roles & set(row.starter_roles)):
                raise Forbidden("您的角色不能发起该流程", "your role may not start this process")
            enterprise_id = actor.id
            if on_behalf_of:
                if "commissioner" not in actor.roles:
                    raise Forbidden("只有服务企业特派员可以代企业发起", "only a commissioner may start on behalf")
                ent = s.scalar(select(User).where(User.username == on_behalf_of))
                paired = ent is not None and s.get(Pairing, (actor.id, ent.id)) is not None
                if not paired:
                    raise Invalid("该企业未与您结对", "that enterprise is not paired with you",
                                  {"on_behalf_of": ["未结对的企业 / not a paired enterprise"]})
                enterprise_id = ent.id
            elif "applicant" not in actor.roles:
                raise Invalid("代企业发起时须指明企业", "say which enterprise the case is for",
                              {"on_behalf_of": ["必填 / required"]})
            pv = self.version(s, row.id)
            data = self._validate(s, pv, row.start_form, variables or {}) if (row.start_form or variables) else {}
            enterprise = actor.username if enterprise_id == actor.id else on_behalf_of
            data = copy.deepcopy(data)
            data.update({"initiator": actor.username, "enterprise_user": enterprise})
            data["commissioner"] = actor.username if on_behalf_of else pairing.paired_commissioner(s, enterprise_id)
            try:
                result = self.engine.start(pv, data)
            except UnknownTaskRole as e:
                raise _unknown_role(e) from None
            except EngineError as e:
                raise _Abort(e, None, process_key, "start") from None
            values = dict(version_id=row.id, process_key=row.key, business_key=business_key, status="running",
                          starter_id=actor.id, enterprise_id=enterprise_id, created_at=now, updated_at=now,
                          ended_at=None, outcome_id=None, outcome_name=None, state=result.state,
                          lock_version=1, last_seq=0, last_hash="")
            inst = Instance(id=s.connection().execute(_INSERT_INSTANCE, values).scalar_one(), **values)   # not in the session
            rec = Recorder(s, inst, now, actor.username, _role_for_start(actor, row.starter_roles))
            rec.add("instance_started", None, row.name, {"process_key": row.key, "version": row.version,
                                                         "business_key": business_key, "variables": data})
            changes = _Changes(s, inst, [], [])
            step = self._apply(s, inst, pv, result, rec, completed_task=None, open_rows={}, timer_rows={})
            changes.write()
        self._timers_changed()
        return Started(inst, row.version, pv, result, step.new_tasks, step.new_timers, rec.written,
                       {actor.id: actor.username, enterprise_id: enterprise})

    # ------------------------------------------------------------------ claim / unclaim
    def claim(self, actor: Actor, task_id: str) -> None:
        now = self.now()
        with self.db.write() as s:
            task, inst, _ = self._task_for_action(s, actor, task_id)
            if task.assignee_id == actor.id:
                return
            if task.assignee_id is not None:
                raise Conflict("任务已被他人认领", "task is claimed by someone else")
            task.assignee_id, task.claimed_at = actor.id, now
            rec = Recorder(s, inst, now, actor.username, task.role)
            rec.add("claim", task.activity_id, task.name, {}, task.id)
            rec.flush()

    def unclaim(self, actor: Actor, task_id: str) -> None:
        now = self.now()
        with self.db.write() as s:
            task, inst, _ = self._task_for_action(s, actor, task_id)
            if task.assignee_id is None:
                return
            if task.assignee_id != actor.id:
                raise Conflict("任务由他人认领，不能释放", "task is claimed by someone else")
            task.assignee_id, task.claimed_at = None, None
            rec = Recorder(s, inst, now, actor.username, task.role)
            rec.add("unclaim", task.activity_id, task.name, {}, task.id)
            rec.flush()

    # ------------------------------------------------------------------ complete
    @_records_incidents
    def complete(self, actor: Actor, task_id: str, data: Any, idempotency_key: str | None = None) -> dict:
        now = self.now()
        request_hash = hashlib.sha256(json.dumps([task_id, data], sort_keys=True, default=str)
                                      .encode()).hexdigest()
        with self.db.write() as s:
            if idempotency_key:
                seen = s.get(IdempotencyKey, (actor.id, idempotency_key))
                if seen is not None:
                    if seen.request_hash != request_hash:
                        raise Conflict("幂等键已用于另一请求", "idempotency key was used for another request",
                                       {"Idempotency-Key": ["已使用 / already used"]})
                    return dict(seen.response, replayed=True)
            task, inst, open_rows = self._task_for_action(s, actor, task_id)
            timer_rows = {t.task_id: t for t in s.scalars(_WAITING_TIMERS, {"iid": inst.id})}
            if task.assignee_id is not None and task.assignee_id != actor.id:
                raise Conflict("任务已被他人认领", "task is claimed by someone else")
            pv = self.version(s, inst.version_id)
            form = (pv.resources.get("forms") or {}).get(task.form_key)
            clean = self._validate(s, pv, form, data if data is not None else {})
            try:
                result = self.engine.complete(pv, inst.state, task.id, clean)
            except TaskNotReady:
                raise Conflict("任务已不可办理", "task is no longer ready") from None
            except UnknownTaskRole as e:
                raise _unknown_role(e) from None
            except EngineError as e:
                raise _Abort(e, inst.id, inst.process_key, "complete") from None
            changes = _Changes(s, inst, open_rows.values(), timer_rows.values())
            if task.claimed_at is None:
                task.claimed_at = now
            task.assignee_id = actor.id
            task.state, task.completed_at, task.completed_by = "completed", now, actor.id
            rec = Recorder(s, inst, now, actor.username, task.role)
            self._save_state(inst, result, now)
            self._apply(s, inst, pv, result, rec, completed_task=task, open_rows=open_rows, timer_rows=timer_rows)
            changes.write()
            response = {"task_id": task.id, "process_instance_id": inst.id, "status": inst.status}
            if idempotency_key:
                s.add(IdempotencyKey(user_id=actor.id, key=idempotency_key, request_hash=request_hash,
                                     status_code=200, response=response, created_at=now))
        self._timers_changed()
        return response

    # ------------------------------------------------------------------ timers
    @_records_incidents
    def fire_timers(self, instance_id: int, actor_name: str = "timer", skip_locked: bool = False,
                    only_if_due: bool = False) -> int:
        """Advance one instance whose timers are due. Returns how many timers fired.

        ``only_if_due``: re-check under the instance lock that a waiting timer is still due, and
        write nothing otherwise (another worker fired it after the caller looked)."""
        now = self.now()
        with self.db.write() as s:
            inst = self._lock_instance(s, instance_id, skip_locked)
            if inst is None or inst.status != "running":
                return 0
            if only_if_due and s.scalar(select(Timer.id).where(
                    Timer.instance_id == instance_id, Timer.status == "waiting", Timer.due_at < now).limit(1)) is None:
                return 0
            pv = self.version(s, inst.version_id)
            try:
                result = self.engine.fire_timers(pv, inst.state)
            except EngineError as e:
                raise _Abort(e, instance_id, inst.process_key, "fire_timers") from None
            rec = Recorder(s, inst, now, actor_name, None)
            open_rows = {t.id: t for t in s.scalars(_OPEN_TASKS, {"iid": inst.id})}
            timer_rows = {t.task_id: t for t in s.scalars(_WAITING_TIMERS, {"iid": inst.id})}
            changes = _Changes(s, inst, open_rows.values(), timer_rows.values())
            self._save_state(inst, result, now)
            step = self._apply(s, inst, pv, result, rec, completed_task=None, open_rows=open_rows,
                               timer_rows=timer_rows)
            changes.write()
        self._timers_changed()
        return step.fired

    # ------------------------------------------------------------------ internals
    def _lock_instance(self, s: Session, instance_id: int, skip_locked: bool = False) -> Instance | None:
        q = (_LOCK_PG_SKIP if skip_locked else _LOCK_PG) if self.db.is_postgres else _LOCK
        return s.scalars(q, {"iid": instance_id}).first()

    def _task_for_action(self, s: Session, actor: Actor, task_id: str) -> tuple[Task, Instance, dict[str, Task]]:
        """Lock the task's instance, then read the task with the instance's other open tasks
        (which the command's step needs anyway). Read after the lock, the task's state is the
        one the last command on this instance left: a racing complete has either finished or
        waits for this one."""
        from .authz import can_act_on_task, can_see_task
        tid = str(task_id)[:36]
        q = _LOCK_BY_TASK_PG if self.db.is_postgres else _LOCK_BY_TASK
        inst = s.scalars(q, {"tid": tid}).first()
        rows = {t.id: t for t in s.scalars(_TASK_AND_OPEN, {"iid": inst.id, "tid": tid})} if inst else {}
        task = rows.get(tid)
        if task is None or not can_see_task(s, actor, task):
            raise NotFound("任务不存在", "no such task")
        if not can_act_on_task(actor, task):
            raise Forbidden("您不能办理此任务", "you may not act on this task")
        if task.state != "open":
            raise Conflict("任务已办结或已取消", f"task is {task.state}")
        return task, inst, {k: t for k, t in rows.items() if t.state == "open"}

    def _save_state(self, inst: Instance, result: StepResult, now: datetime) -> None:
        # Written by _Changes.write(), whose UPDATE checks lock_version: a racing writer that
        # slipped past the row lock fails with StaleDataError (answered 409) instead of
        # overwriting this state.
        inst.state = result.state
        inst.updated_at = now

    def _apply(self, s: Session, inst: Instance, pv: ProcessVersion, result: StepResult, rec: Recorder,
               completed_task: Task | None, open_rows: dict[str, Task], timer_rows: dict[str, Timer]) -> "_StepRows":
        """Project what the engine step did onto the case's rows: changes to the loaded rows are
        made in memory (the caller's ``_Changes`` writes them), new task and timer rows and the
        audit events are inserted here."""
        now = rec.at
        system = "system"
        timer_rows = dict(timer_rows)
        current = {t.task_id: t for t in result.timers}
        fired_rows: dict[str, Timer] = {}
        fired = 0
        new_timers: list[Timer] = []
        new_tasks: list[Task] = []

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
                    rec.add("cancel", f.activity_id, f.activity_name, {}, f.task_id, actor=system, role=row.role)
            elif f.transition == "timer_fired":
                fired += 1
                cycle_goes_on = f.task_id in current   # a cycle's round: its row waits for the next one
                row = timer_rows.get(f.task_id) if cycle_goes_on else timer_rows.pop(f.task_id, None)
                if row is None:
                    row = fired_rows.get(f.task_id)     # an earlier round of a cycle in this step
                data = {}
                if row is not None:
                    data = {"due_at": f.data.get("due_at") or row.due_at.isoformat(), "timer_id": row.id}
                    if not cycle_goes_on:
                        row.status, row.fired_at = "fired", now
                        if f.data.get("due_at"):    # a cycle's last round
                            row.due_at = datetime.fromisoformat(f.data["due_at"])
                        fired_rows[f.task_id] = row
                if f.data.get("cycle"):
                    data["cycle"] = True
                rec.add("timer_fired", f.activity_id, f.activity_name, data, f.task_id, actor=system, role=None)
            elif f.transition == "end":
                rec.add("end", f.activity_id, f.activity_name, {}, f.task_id, actor=system, role=None)
            else:
                rec.add(f.transition, f.activity_id, f.activity_name, f.data, f.task_id, actor=system, role=None)

        # Timers: new ones are armed, vanished ones (not fired) were cancelled.
        for tid, row in list(timer_rows.items()):
            view = current.get(tid)
            if view is None:
                row.status = "cancelled"
                rec.add("timer_cancelled", row.activity_id, pv.element_name(row.activity_id),
                        {}, tid, actor=system, role=None)
            elif view.due_at != row.due_at:   # a cycle moved on, or a recomputed deadline
                row.due_at, row.provisional = view.due_at, view.provisional
        for tid, view in current.items():
            if tid in timer_rows:
                continue
            row = Timer(instance_id=inst.id, task_id=tid, activity_id=view.activity_id, due_at=view.due_at,
                        status="waiting", provisional=view.provisional, calc=view.calc,
                        attached_task_id=view.attached_to, created_at=now, fired_at=None)
            timer_rows[tid] = row
            new_timers.append(row)
            rec.add("timer_armed", view.activity_id, pv.element_name(view.activity_id),
                    {"due_at": view.due_at.isoformat(), "provisional": view.provisional},
                    tid, actor=system, role=None)

        # User tasks: schedule the new ones.
        due_by_task: dict[str, datetime] = {}
        for tid, row in timer_rows.items():
            if row.status != "waiting" or not row.attached_task_id:
                continue
            interrupting = (pv.elements.get(row.activity_id) or {}).get("interrupting", True)
            if interrupting:
                prev = due_by_task.get(row.attached_task_id)
                due_by_task[row.attached_task_id] = row.due_at if prev is None else min(prev, row.due_at)
        enterprise = None
        for ut in result.user_tasks:
            row = open_rows.get(ut.id)
            if row is not None:
                if ut.id in due_by_task and row.due_at != due_by_task[ut.id]:
                    row.due_at = due_by_task[ut.id]
                continue
            if completed_task is not None and ut.id == completed_task.id:
                continue
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
            row = Task(id=ut.id, instance_id=inst.id, process_key=inst.process_key, activity_id=ut.activity_id,
                       name=ut.name, role=ut.role, state="open", assignee_id=None, reserved_for_id=reserved,
                       form_key=ut.form_key, created_at=now, claimed_at=None, completed_at=None,
                       completed_by=None, due_at=due_by_task.get(ut.id))
            new_tasks.append(row)
            rec.add("scheduled", ut.activity_id, ut.name,
                    {"role": ut.role, "reserved_for": reserved_name,
                     "due_at": row.due_at.isoformat() if row.due_at else None}, ut.id, actor=system, role=ut.role)

        if result.status == "completed" and inst.status == "running":
            inst.status, inst.ended_at = "completed", now
            if result.outcome:
                inst.outcome_id, inst.outcome_name = result.outcome["id"], result.outcome["name"]
            for row in open_rows.values():   # anything still open when the process ended
                if row.state == "open":
                    row.state, row.completed_at = "cancelled", now
            rec.add("instance_completed", inst.outcome_id, inst.outcome_name, {"outcome": result.outcome},
                    None, actor=system, role=None)
        inst.updated_at = now
        conn = s.connection()   # Core inserts, like the audit events and _Changes
        if new_tasks:
            conn.execute(_INSERT_TASK, [_task_values(t) for t in new_tasks])
        if new_timers:
            ids = conn.execute(_INSERT_TIMER, [{c: getattr(t, c) for c in _TIMER_INSERT_COLS}
                                               for t in new_timers]).scalars().all()
            for t, i in zip(new_timers, ids):
                t.id = i
        rec.flush()
        return _StepRows(fired, new_tasks, new_timers)

    def _incident(self, instance_id, process_key, err: EngineError, command: str, actor: Actor | None) -> None:
        now = self.now()
        with self.db.write() as s:
            row = Incident(instance_id=instance_id, process_key=process_key, activity_id=err.activity_id,
                           activity_name=err.activity_name, command=command, message=err.message,
                           actor=actor.username if actor else None, created_at=now)
            s.add(row)
            s.flush()
            # The case itself is unchanged (the failed command rolled back), so the incident is an
            # audit event outside the case's chain, like a deployment.
            name = actor.username if actor else "system"
            data = {"incident_id": row.id, "process_instance_id": instance_id, "command": command,
                    "message": err.message}
            h = event_hash(GENESIS, None, 1, now, err.activity_id, err.activity_name, "incident", name, None,
                           None, data)
            s.add(AuditEvent(instance_id=None, process_key=process_key, seq=1, at=now,
                             activity_id=err.activity_id, activity_name=err.activity_name, transition="incident",
                             actor=name, role=None, task_id=None, data=data, prev_hash=GENESIS, hash=h))

    def _timers_changed(self) -> None:
        if self.on_timers_changed is not None:
            self.on_timers_changed()


def _unknown_role(e: UnknownTaskRole) -> Invalid:
    """The data of this step names a department that does not exist for the task it opens."""
    return Invalid("承办部门不是已登记的部门", "the department named for the next task is not a known department",
                   {e.field: [f"未知部门 {e.value!r} / unknown department"]})


def _step_failed(e: EngineError) -> StepFailed:
    return StepFailed("流程步骤执行失败，案件保持不变", "an engine step failed; the case is unchanged",
                      activity_id=e.activity_id, activity_name=e.activity_name, engine_message=e.message)


def _role_for_start(actor: Actor, starter_roles: list[str]) -> str | None:
    for r in starter_roles:
        if r in actor.roles:
            return r
    return actor.primary_role()


_form_cache: dict[str, Any] = {}


def _compiled_form(form: dict):
    key = hashlib.sha1(json.dumps(form, sort_keys=True).encode()).hexdigest()
    cf = _form_cache.get(key)
    if cf is None:
        cf = compile_form(form)
        if len(_form_cache) > 2000:
            _form_cache.clear()
        _form_cache[key] = cf
    return cf


class _PreviousResources:
    def __init__(self, service: Service, session: Session):
        self.service, self.session = service, session

    def get(self, key: str) -> Previous | None:
        row = self.service.latest_version(self.session, key)
        if row is None:
            return None
        r = row.resources or {}
        return Previous(dmn=r.get("dmn") or {}, forms=r.get("forms") or {}, settings=r.get("settings"),
                        catalogue=r.get("catalogue"))
