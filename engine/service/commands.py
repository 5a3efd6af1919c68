"""Commands: start, claim, unclaim, complete, fire timers (and deploy, in deployments.py).

Every command runs in one write transaction: it loads the instance under its lock, asks the
engine for the next state, and writes state, task projection, timers and audit events together.
When the engine fails nothing of the command is written; an incident is recorded on its own.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import logctx
from engine.audit.chain import Recorder
from engine.connectors import load_registry
from engine.service import carry_over, deployments, form_data, outbox, pairing
from engine.service.actor import Actor
from engine.service.errors import Conflict, Forbidden, Invalid, NotFound
from engine.service.incidents import Abort, records_incidents, resolve_retried_step
from engine.service.metered import counted
from engine.service.projection import apply_step
from engine.service.visibility import can_act_on_task, can_see_task
from engine.service.writes import (
    INSERT_INSTANCE,
    LATEST_VERSION,
    LOCK,
    LOCK_BY_TASK,
    LOCK_BY_TASK_PG,
    LOCK_PG,
    LOCK_PG_SKIP,
    OPEN_TASKS,
    TASK_AND_OPEN,
    WAITING_TIMERS,
    Changes,
)
from engine.settings import Settings
from engine.store.db import Database
from engine.store.models import IdempotencyKey, Instance, Pairing, ProcessVersionRow, Task, Timer, User
from engine.workflow import flow_settings
from engine.workflow.deploy import UploadedFile
from engine.workflow.runtime import Engine, EngineError, ProcessVersion, StepResult, TaskNotReady, UnknownTaskRole
from engine.worktime import WorkingTime


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


class Service:
    """The application core shared by the API, the CLI and the timer worker."""

    def __init__(self, db: Database, engine: Engine, clock_sync=None, settings: Settings | None = None):
        self.db = db
        # What the integration rooms read (webhook hosts, connectors, message keeping time).
        self.settings = settings or Settings()
        # The endpoints service tasks may call (SIJI_CONNECTORS), read once like the settings.
        self.connectors = load_registry(self.settings.connectors)
        self.engine = engine
        # Follows the clock offset and calendar version other processes share through the
        # database (engine/service/clock_sync.py); None for a service on a test's own clock.
        self.clock_sync = clock_sync
        self._timer_listeners: list = []

    def on_timers_changed(self, listener) -> None:
        """Call ``listener()`` after a command armed or moved a timer (the timer worker of this
        process wakes up at once for an earlier one)."""
        self._timer_listeners.append(listener)

    def timers_changed(self) -> None:
        for listener in self._timer_listeners:
            listener()

    @property
    def clock(self):
        return self.engine.clock

    def now(self) -> datetime:
        return self.engine.clock.now()

    def working_time(self) -> WorkingTime:
        """Office hours (SIJI_OFFICE_HOURS) on the calendar the timers use, built per call: the
        calendar can gain a year while the service runs (engine/service/calendar_years.py)."""
        return WorkingTime(self.engine.calendar, list(self.settings.office_hours))

    # ------------------------------------------------------------------ versions
    def version(self, session: Session, version_id: int) -> ProcessVersion:
        def load():
            row = session.get(ProcessVersionRow, version_id)
            return {
                "id": row.id,
                "key": row.key,
                "version": row.version,
                "spec_state": row.spec_state,
                "tasks": row.tasks,
                "elements": row.elements,
                "resources": row.resources,
            }

        return self.engine.version(version_id, load)

    def latest_version(self, session: Session, key: str) -> ProcessVersionRow | None:
        return deployments.latest_version(session, key)

    def deploy(
        self, files: list[UploadedFile], actor: Actor | None, only_changed: bool = False
    ) -> list[deployments.Deployed]:
        return deployments.deploy(self, files, actor, only_changed)

    def options(self, session: Session, pv: ProcessVersion | None) -> dict[str, list[dict]]:
        return form_data.options(session, pv)

    # ------------------------------------------------------------------ start
    def start(
        self,
        actor: Actor,
        process_key: str,
        business_key: str | None,
        variables: dict | None,
        on_behalf_of: str | None = None,
        carry_from: dict | None = None,
    ) -> int:
        return self.start_with_result(actor, process_key, business_key, variables, on_behalf_of, carry_from).instance.id

    @counted("start")
    @records_incidents
    def start_with_result(
        self,
        actor: Actor,
        process_key: str,
        business_key: str | None,
        variables: dict | None,
        on_behalf_of: str | None = None,
        carry_from: dict | None = None,
    ) -> Started:
        """``carry_from``: ``{"from_instance": id}``, ``{"from_business_key": key}`` or
        ``{"match": value}``, the completed case of another flow whose fields (the flow's settings
        ``carry_over``) the new case takes over (engine/service/carry_over.py)."""
        now = self.now()
        with self.db.write() as s:
            row = s.execute(LATEST_VERSION, {"key": process_key}).first()
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
                    raise Invalid(
                        "该企业未与您结对",
                        "that enterprise is not paired with you",
                        {"on_behalf_of": ["未结对的企业 / not a paired enterprise"]},
                    )
                enterprise_id = ent.id
            elif "applicant" not in actor.roles:
                raise Invalid(
                    "代企业发起时须指明企业",
                    "say which enterprise the case is for",
                    {"on_behalf_of": ["必填 / required"]},
                )
            pv = self.version(s, row.id)
            settings = pv.resources.get("settings")
            carried, source = {}, None
            if carry_from:
                source, carried = carry_over.take(self, s, actor, settings, **carry_from)
                # the source's values are the record: they fill the start form, not the caller
                in_form = flow_settings.form_keys(row.start_form)
                variables = {**(variables or {}), **{k: v for k, v in carried.items() if k in in_form}}
            data = form_data.validate(s, pv, row.start_form, variables or {}) if (row.start_form or variables) else {}
            enterprise = actor.username if enterprise_id == actor.id else on_behalf_of
            data = copy.deepcopy(data)
            data.update({k: copy.deepcopy(v) for k, v in carried.items() if k not in data})
            if source is not None:
                data["carried_from"] = {
                    "process_instance_id": source.id,
                    "process_key": source.process_key,
                    "business_key": source.business_key,
                }
            data.update({"initiator": actor.username, "enterprise_user": enterprise})
            data["commissioner"] = actor.username if on_behalf_of else pairing.paired_commissioner(s, enterprise_id)
            try:
                result = self.engine.start(pv, data)
            except UnknownTaskRole as e:
                raise _unknown_role(e) from None
            except EngineError as e:
                raise Abort(e, None, process_key, "start") from None
            values = dict(
                version_id=row.id,
                process_key=row.key,
                business_key=business_key,
                status="running",
                starter_id=actor.id,
                enterprise_id=enterprise_id,
                created_at=now,
                updated_at=now,
                ended_at=None,
                outcome_id=None,
                outcome_name=None,
                state=result.state,
                lock_version=1,
                last_seq=0,
                last_hash="",
                display_name=flow_settings.display_name(settings, data),
            )
            inst = Instance(
                id=s.connection().execute(INSERT_INSTANCE, values).scalar_one(), **values
            )  # not in the session
            rec = Recorder(s, inst, now, actor.username, _role_for_start(actor, row.starter_roles))
            rec.add(
                "instance_started",
                None,
                row.name,
                {"process_key": row.key, "version": row.version, "business_key": business_key, "variables": data},
            )
            changes = Changes(s, inst, [], [])
            step = apply_step(
                s,
                inst,
                pv,
                result,
                rec,
                completed_task=None,
                open_rows={},
                timer_rows={},
                calendar=self.engine.calendar,
            )
            changes.write()
            carry_over.record_lookups(s, inst, settings, data)
            outbox.publish(s, rec.written)
        self.timers_changed()
        return Started(
            inst,
            row.version,
            pv,
            result,
            step.new_tasks,
            step.new_timers,
            rec.written,
            {actor.id: actor.username, enterprise_id: enterprise},
        )

    # ------------------------------------------------------------------ claim / unclaim
    @counted("claim")
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
            outbox.publish(s, rec.written)

    @counted("unclaim")
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
            outbox.publish(s, rec.written)

    # ------------------------------------------------------------------ complete
    @counted("complete")
    @records_incidents
    def complete(self, actor: Actor, task_id: str, data: Any, idempotency_key: str | None = None) -> dict:
        now = self.now()
        request_hash = hashlib.sha256(json.dumps([task_id, data], sort_keys=True, default=str).encode()).hexdigest()
        with self.db.write() as s:
            # The case's lock first, the key after: a same-key request still running holds the
            # lock until its answer is stored, so a retry waits for that answer and replays it
            # instead of finding the task already done (409).
            inst = self._lock_for_task(s, task_id)
            if idempotency_key:
                seen = s.get(IdempotencyKey, (actor.id, idempotency_key))
                if seen is not None:
                    if seen.request_hash != request_hash:
                        raise Conflict(
                            "幂等键已用于另一请求",
                            "idempotency key was used for another request",
                            {"Idempotency-Key": ["已使用 / already used"]},
                        )
                    return dict(seen.response, replayed=True)
            task, inst, open_rows = self._task_for_action(s, actor, task_id, inst)
            timer_rows = {t.task_id: t for t in s.scalars(WAITING_TIMERS, {"iid": inst.id})}
            if task.assignee_id is not None and task.assignee_id != actor.id:
                raise Conflict("任务已被他人认领", "task is claimed by someone else")
            pv = self.version(s, inst.version_id)
            form = (pv.resources.get("forms") or {}).get(task.form_key)
            clean = form_data.validate(s, pv, form, data if data is not None else {})
            try:
                result = self.engine.complete(pv, inst.state, task.id, clean)
            except TaskNotReady:
                raise Conflict("任务已不可办理", "task is no longer ready") from None
            except UnknownTaskRole as e:
                raise _unknown_role(e) from None
            except EngineError as e:
                raise Abort(e, inst.id, inst.process_key, "complete") from None
            changes = Changes(s, inst, open_rows.values(), timer_rows.values())
            if task.claimed_at is None:
                task.claimed_at = now
            task.assignee_id = actor.id
            task.state, task.completed_at, task.completed_by = "completed", now, actor.id
            rec = Recorder(s, inst, now, actor.username, task.role)
            self._save_state(inst, result, now)
            settings = pv.resources.get("settings")
            if any(k in clean for k in flow_settings.display_fields(settings)):
                inst.display_name = flow_settings.display_name(settings, clean) or inst.display_name
            apply_step(
                s,
                inst,
                pv,
                result,
                rec,
                completed_task=task,
                open_rows=open_rows,
                timer_rows=timer_rows,
                calendar=self.engine.calendar,
            )
            changes.write()
            carry_over.record_lookups(s, inst, settings, clean)
            outbox.publish(s, rec.written)
            response = {"task_id": task.id, "process_instance_id": inst.id, "status": inst.status}
            if idempotency_key:
                s.add(
                    IdempotencyKey(
                        user_id=actor.id,
                        key=idempotency_key,
                        request_hash=request_hash,
                        status_code=200,
                        response=response,
                        created_at=now,
                    )
                )
        self.timers_changed()
        return response

    # ------------------------------------------------------------------ timers
    @counted("fire_timers")
    @records_incidents
    def fire_timers(
        self,
        instance_id: int,
        actor_name: str = "timer",
        skip_locked: bool = False,
        only_if_due: bool = False,
        retried_by: str | None = None,
    ) -> int:
        """Advance one instance whose timers are due. Returns how many timers fired.

        ``only_if_due``: re-check under the instance lock that a waiting timer is still due, and
        write nothing otherwise (another worker fired it after the caller looked).
        Timers that fired resolve the case's open timer-step incidents (``retried``), in the name
        of ``retried_by`` (an admin's retry) or ``system`` (the timer worker's own)."""
        now = self.now()
        with self.db.write() as s:
            inst = self._lock_instance(s, instance_id, skip_locked)
            if inst is None or inst.status != "running":
                return 0
            if (
                only_if_due
                and s.scalar(
                    select(Timer.id)
                    .where(Timer.instance_id == instance_id, Timer.status == "waiting", Timer.due_at < now)
                    .limit(1)
                )
                is None
            ):
                return 0
            pv = self.version(s, inst.version_id)
            try:
                result = self.engine.fire_timers(pv, inst.state)
            except EngineError as e:
                raise Abort(e, instance_id, inst.process_key, "fire_timers") from None
            if any(f.transition == "timer_fired" for f in result.facts):
                resolve_retried_step(s, now, retried_by or "system", instance_id, "fire_timers")
            rec = Recorder(s, inst, now, actor_name, None)
            open_rows = {t.id: t for t in s.scalars(OPEN_TASKS, {"iid": inst.id})}
            timer_rows = {t.task_id: t for t in s.scalars(WAITING_TIMERS, {"iid": inst.id})}
            changes = Changes(s, inst, open_rows.values(), timer_rows.values())
            self._save_state(inst, result, now)
            step = apply_step(
                s,
                inst,
                pv,
                result,
                rec,
                completed_task=None,
                open_rows=open_rows,
                timer_rows=timer_rows,
                calendar=self.engine.calendar,
            )
            changes.write()
            outbox.publish(s, rec.written)
        self.timers_changed()
        return step.fired

    # ------------------------------------------------------------------ internals
    def _lock_instance(self, s: Session, instance_id: int, skip_locked: bool = False) -> Instance | None:
        q = (LOCK_PG_SKIP if skip_locked else LOCK_PG) if self.db.is_postgres else LOCK
        logctx.bind_case(instance_id)
        return s.scalars(q, {"iid": instance_id}).first()

    def _lock_for_task(self, s: Session, task_id: str) -> Instance | None:
        """Lock the instance a task belongs to (None: no such task)."""
        q = LOCK_BY_TASK_PG if self.db.is_postgres else LOCK_BY_TASK
        inst = s.scalars(q, {"tid": str(task_id)[:36]}).first()
        logctx.bind_case(inst.id if inst else None)
        return inst

    def _task_for_action(
        self, s: Session, actor: Actor, task_id: str, inst: Instance | None = ...
    ) -> tuple[Task, Instance, dict[str, Task]]:
        """Lock the task's instance (unless the caller did: ``inst``), then read the task with the
        instance's other open tasks (which the command's step needs anyway). Read after the lock,
        the task's state is the one the last command on this instance left: a racing complete has
        either finished or waits for this one."""
        tid = str(task_id)[:36]
        if inst is ...:
            inst = self._lock_for_task(s, tid)
        rows = {t.id: t for t in s.scalars(TASK_AND_OPEN, {"iid": inst.id, "tid": tid})} if inst else {}
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


def _unknown_role(e: UnknownTaskRole) -> Invalid:
    """The data of this step names a department that does not exist for the task it opens."""
    return Invalid(
        "承办部门不是已登记的部门",
        "the department named for the next task is not a known department",
        {e.field: [f"未知部门 {e.value!r} / unknown department"]},
    )


def _role_for_start(actor: Actor, starter_roles: list[str]) -> str | None:
    for r in starter_roles:
        if r in actor.roles:
            return r
    return actor.primary_role()
