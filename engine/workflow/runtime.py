"""Running instances: start, complete a user task, fire due timers.

Each command loads the instance from its saved state, works on a private copy and returns the
new state plus what changed (user tasks, timers, audit facts). Nothing is written anywhere by
this module: the caller commits it all in one transaction, or, when the engine raises,
commits nothing, so a failing step never leaves a half-advanced instance.
"""
from __future__ import annotations

import contextvars
import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine.workflow import flow_settings
from engine.metrics import engine_step
from engine.workflow import spiff_depth  # noqa: F401  (cases deeper than 1000 tasks)
from engine.workflow import spiff_fast
from engine.workflow import spiff_fixes  # noqa: F401  (parallel joins inside loops)
from engine.workflow import task_roles
from engine.workflow.messages import thrown_messages
from engine.workflow.scripting import SafeEnvironment, ScriptLimitExceeded, ScriptRefused
from engine.workflow.serializer import dump_workflow, load_workflow, spec_from_state, task_data
from engine.workdays import WorkdayCalendar

UTC = timezone.utc
CHINA = timezone(timedelta(hours=8))
MAX_ROUNDS = 200


class EngineError(Exception):
    """A step failed inside the engine (script error, no gateway condition true, …)."""

    def __init__(self, message: str, activity_id: str | None = None, activity_name: str | None = None):
        super().__init__(message)
        self.message = message
        self.activity_id = activity_id
        self.activity_name = activity_name


class UnknownTaskRole(EngineError):
    """A task's department comes from a case variable (engine/task_roles.py) that names no
    department; ``field`` is the variable, so the step that set it can be refused naming it."""

    def __init__(self, field: str, value: object, activity_id: str, activity_name: str):
        self.field, self.value = field, value
        super().__init__(f"“{activity_name}”的承办部门取自 {field}={value!r}，不是已登记的部门 / "
                         f"{field}={value!r} is not a known department (task {activity_id})",
                         activity_id, activity_name)


class TaskNotReady(Exception):
    pass


@dataclass
class ProcessVersion:
    id: int
    key: str
    version: int
    spec: Any
    subprocess_specs: Any
    tasks: dict[str, dict]          # activity id -> {name, role, role_var, lane, form_key, assignee_var}
    elements: dict[str, dict]       # id -> {name, type, source?, target?}
    resources: dict[str, Any]
    script_engine: PythonScriptEngine | None = None

    def element_name(self, activity_id: str | None) -> str:
        if activity_id is None:
            return ""
        return (self.elements.get(activity_id) or {}).get("name") or activity_id


@dataclass
class UserTaskView:
    id: str
    activity_id: str
    name: str
    role: str
    assignee_var: str | None
    form_key: str
    data: dict


@dataclass
class TimerView:
    task_id: str
    activity_id: str
    due_at: datetime
    provisional: bool = False
    attached_to: str | None = None   # the user task id a boundary timer guards
    cycle: bool = False
    calc: dict | None = None         # for a provisional working-day deadline: {start, n} to recompute


@dataclass
class Fact:
    """Something that happened during a command; the caller turns facts into audit events."""
    transition: str            # e.g. "complete", "gateway", "timer_fired", "end"
    activity_id: str | None
    activity_name: str
    data: dict = field(default_factory=dict)
    task_id: str | None = None


@dataclass
class StepResult:
    state: str
    status: str                         # running | completed
    outcome: dict | None                # {id, name} of the end event reached
    user_tasks: list[UserTaskView]
    timers: list[TimerView]
    facts: list[Fact]
    data: dict
    # BPMN messages the step threw that no task of this case caught: {name, payload, result_var}
    # (engine/workflow/messages.py; the caller queues them for other cases)
    messages: list[dict] = field(default_factory=list)


_provisional: contextvars.ContextVar[list | None] = contextvars.ContextVar("siji_provisional", default=None)


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _ready(wf):
    """The ready tasks of a workflow and its sub-processes, in no particular order, read off the
    task maps: get_tasks() walks the whole tree, which grows with every round of a loop."""
    for w in (wf, *wf.subprocesses.values()):
        for t in w.tasks.values():
            if t.state == TaskState.READY:
                yield t


class Engine:
    """Owns the parser output cache, the script environment and the clock."""

    def __init__(self, clock: clockmod.Clock | None = None, calendar: WorkdayCalendar | None = None):
        self.clock = clock or clockmod.SystemClock()
        self.calendar = calendar or WorkdayCalendar()
        self._versions: dict[int, ProcessVersion] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- versions
    def version(self, version_id: int, loader: Callable[[], dict]) -> ProcessVersion:
        """The cached parsed version; ``loader`` returns the stored row when not cached."""
        pv = self._versions.get(version_id)
        if pv is not None:
            return pv
        row = loader()
        spec, subs = spec_from_state(row["spec_state"])
        pv = ProcessVersion(row["id"], row["key"], row["version"], spec, subs, row["tasks"], row["elements"],
                            row["resources"])
        pv.script_engine = self._script_engine(pv)
        with self._lock:
            self._versions.setdefault(version_id, pv)
        return self._versions[version_id]

    def compiled_version(self, compiled, version_id: int = 0, version: int = 1) -> ProcessVersion:
        """A runnable version straight from ``deploy.compile_deployment`` (no database: the
        simulator). Not cached: the caller keeps it."""
        pv = ProcessVersion(version_id, compiled.key, version, compiled.spec, compiled.subprocess_specs,
                            {k: t.as_dict() for k, t in compiled.tasks.items()}, compiled.elements,
                            compiled.resources)
        pv.script_engine = self._script_engine(pv)
        return pv

    def _script_engine(self, pv: ProcessVersion) -> PythonScriptEngine:
        return PythonScriptEngine(environment=SafeEnvironment(self.helpers(pv.resources)))

    def helpers(self, resources: dict) -> dict[str, Callable]:
        settings = resources.get("settings") or {}
        catalogue = {i["code"]: i for i in ((resources.get("catalogue") or {}).get("items") or [])}
        cal = self.calendar

        def now() -> str:
            return clockmod.now().isoformat()

        def days_after(n, start=None) -> str:
            base = _parse_time(start) if start else clockmod.now()
            return (base + timedelta(days=float(n))).isoformat()

        def hours_after(n, start=None) -> str:
            base = _parse_time(start) if start else clockmod.now()
            return (base + timedelta(hours=float(n))).isoformat()

        def workdays_after(start, n) -> str:
            base = _parse_time(start) if start else clockmod.now()
            when, provisional = cal.workdays_after(base, int(n))
            if provisional:
                sink = _provisional.get()
                if sink is not None:
                    sink.append({"due": when.isoformat(), "start": base.isoformat(), "n": int(n)})
            return when.isoformat()

        def end_of_day(start=None) -> str:
            return cal.end_of_day(_parse_time(start) if start else clockmod.now()).isoformat()

        def catalogue_item(code):
            item = catalogue.get(code)
            if item is None:
                raise ValueError(f"目录中没有事项 {code!r} / no catalogue item {code!r}")
            return copy.deepcopy(item)

        def setting(name, default=None):
            return copy.deepcopy(settings.get(name, default))

        return {"now": now, "days_after": days_after, "hours_after": hours_after,
                "workdays_after": workdays_after, "end_of_day": end_of_day,
                "catalogue_item": catalogue_item, "setting": setting}

    # ----------------------------------------------------------------- commands
    @engine_step("start")
    def start(self, pv: ProcessVersion, data: dict) -> StepResult:
        return self._start(pv, data, dump=True)[1]

    def _start(self, pv: ProcessVersion, data: dict, dump: bool, fast: bool = False
               ) -> tuple[BpmnWorkflow, StepResult]:
        with clockmod.use(self.clock), _collect() as provisional:
            wf = BpmnWorkflow(pv.spec, pv.subprocess_specs, script_engine=pv.script_engine)
            if fast:
                spiff_fast.accelerate(wf)
            start = wf.get_tasks(state=TaskState.READY)
            initial = flow_settings.case_defaults(pv.resources.get("settings"))
            initial.update(copy.deepcopy(data))
            for t in start:
                t.data.update(copy.deepcopy(initial))
            facts = [Fact("start", None, "", {})]
            return wf, self._advance(pv, wf, {}, {}, facts, provisional, dump)

    def load(self, pv: ProcessVersion, state: str) -> BpmnWorkflow:
        return load_workflow(state, pv.spec, pv.subprocess_specs, pv.script_engine)

    @engine_step("complete")
    def complete(self, pv: ProcessVersion, state: str, task_id: str, data: dict) -> StepResult:
        with clockmod.use(self.clock):
            return self._complete(pv, self.load(pv, state), task_id, data, dump=True)

    def _complete(self, pv: ProcessVersion, wf: BpmnWorkflow, task_id: str, data: dict, dump: bool) -> StepResult:
        from uuid import UUID
        with clockmod.use(self.clock), _collect() as provisional:
            before_tasks, before_timers = self._user_task_ids(wf), self._timer_ids(wf)
            task = wf.get_task_from_id(UUID(task_id)) if _is_uuid(task_id) else None
            if task is None or task.state != TaskState.READY or not task.task_spec.manual:
                raise TaskNotReady(task_id)
            # Deep copy: SpiffWorkflow's own merge shares list values between tasks.
            task.data.update(copy.deepcopy(data))
            self._run(pv, task)
            facts = [Fact("complete", task.task_spec.bpmn_id, pv.element_name(task.task_spec.bpmn_id),
                          {"data": copy.deepcopy(data)}, str(task.id))]
            return self._advance(pv, wf, before_tasks, before_timers, facts, provisional, dump)

    @engine_step("fire_timers")
    def fire_timers(self, pv: ProcessVersion, state: str) -> StepResult:
        with clockmod.use(self.clock):
            return self._fire_timers(pv, self.load(pv, state), dump=True)

    def _fire_timers(self, pv: ProcessVersion, wf: BpmnWorkflow, dump: bool) -> StepResult:
        with clockmod.use(self.clock), _collect() as provisional:
            before_tasks, before_timers = self._user_task_ids(wf), self._timer_ids(wf)
            return self._advance(pv, wf, before_tasks, before_timers, [], provisional, dump)

    # In memory (the simulator, engine/simulation/): the same commands on a live workflow object,
    # which stays with the caller between commands; ``state`` of the results is "" (not saved).
    def start_in_memory(self, pv: ProcessVersion, data: dict, accelerate: bool = True
                        ) -> tuple[BpmnWorkflow, StepResult]:
        """``accelerate``: map-based task queries (engine/spiff_fast.py), same results."""
        return self._start(pv, data, dump=False, fast=accelerate)

    def complete_in_memory(self, pv: ProcessVersion, wf: BpmnWorkflow, task_id: str, data: dict) -> StepResult:
        return self._complete(pv, wf, task_id, data, dump=False)

    def fire_timers_in_memory(self, pv: ProcessVersion, wf: BpmnWorkflow) -> StepResult:
        return self._fire_timers(pv, wf, dump=False)

    def reschedule_timer(self, pv: ProcessVersion, state: str, task_id: str, due: datetime) -> str:
        """Move a waiting timer's due time (a provisional working-day deadline recomputed)."""
        from uuid import UUID
        with clockmod.use(self.clock):
            wf = self.load(pv, state)
            task = wf.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.WAITING:
                raise TaskNotReady(task_id)
            task.internal_data["event_value"] = due.isoformat()
            return dump_workflow(wf)

    def snapshot(self, pv: ProcessVersion, state: str) -> StepResult:
        """The current view of an instance without advancing it."""
        with clockmod.use(self.clock):
            wf = self.load(pv, state)
            return self._result(pv, wf, [], [], state)

    def ready_task_data(self, state: str, task_id: str) -> dict | None:
        """The data a ready task holds (what its form starts with), or None when it is not ready."""
        return task_data(state, task_id, TaskState.READY)

    # ----------------------------------------------------------------- internals
    def _run(self, pv: ProcessVersion, task) -> None:
        try:
            task.run()
        except (ScriptRefused, ScriptLimitExceeded) as e:
            raise EngineError(str(e), task.task_spec.bpmn_id, pv.element_name(task.task_spec.bpmn_id)) from e
        except (SpiffWorkflowException, WorkflowException) as e:
            raise self._engine_error(pv, e, task) from e
        except Exception as e:  # an expression's own error (NameError, KeyError, …)
            raise EngineError(f"{type(e).__name__}: {e}", task.task_spec.bpmn_id,
                              pv.element_name(task.task_spec.bpmn_id)) from e

    def _engine_error(self, pv: ProcessVersion, e: Exception, task=None) -> EngineError:
        t = getattr(e, "task", None) or task
        aid = getattr(getattr(t, "task_spec", None), "bpmn_id", None)
        msg = str(e)
        notes = getattr(e, "__notes__", None)
        if notes:
            msg = msg + " (" + "; ".join(notes) + ")"
        return EngineError(msg, aid, pv.element_name(aid))

    def _advance(self, pv, wf, before_tasks, before_timers, facts, provisional, dump: bool = True) -> StepResult:
        completed: list = []
        cycles = self._cycle_marks(wf)

        def did_complete(task):
            completed.append(task)

        try:
            for _ in range(MAX_ROUNDS):
                wf.do_engine_steps(did_complete_task=did_complete)
                if not any(not t.task_spec.manual for t in _ready(wf)):
                    break
        except (ScriptRefused, ScriptLimitExceeded) as e:
            t = completed[-1] if completed else None
            raise self._engine_error(pv, e, self._failing_task(wf) or t) from e
        except (SpiffWorkflowException, WorkflowException) as e:
            raise self._engine_error(pv, e, self._failing_task(wf)) from e
        except Exception as e:
            err = self._engine_error(pv, e, self._failing_task(wf))
            err.message = f"{type(e).__name__}: {e}"
            raise err from e

        facts.extend(self._cycle_rounds(pv, wf, cycles))
        for task in completed:
            facts.extend(self._facts_for(pv, wf, task, before_timers))
        thrown = thrown_messages(wf)      # before the dump: they leave the case now, not on its next load
        state = dump_workflow(wf) if dump else ""
        result = self._result(pv, wf, facts, provisional, state)
        result.messages = thrown
        # User tasks that disappeared without being completed by a command were cancelled
        # (an interrupting boundary event, a terminated branch).
        now_ids = {t.id for t in result.user_tasks}
        completed_ids = {f.task_id for f in facts if f.transition == "complete"}
        for tid in set(before_tasks) - now_ids - completed_ids:
            aid = before_tasks[tid]
            facts.append(Fact("cancel", aid, pv.element_name(aid), {}, tid))
        return result

    def _failing_task(self, wf):
        for t in wf.get_tasks(state=TaskState.ERROR):
            return t
        for t in wf.get_tasks(state=TaskState.STARTED):
            if not t.task_spec.manual:
                return t
        return None

    def _facts_for(self, pv: ProcessVersion, wf, task, before_timers) -> list[Fact]:
        spec = task.task_spec
        aid = getattr(spec, "bpmn_id", None)
        if aid is None or aid not in pv.elements:
            return []
        kind = pv.elements[aid].get("type")
        name = pv.element_name(aid)
        out: list[Fact] = []
        if kind in ("exclusiveGateway", "inclusiveGateway", "eventBasedGateway"):
            taken = [c.task_spec.bpmn_id for c in task.children
                     if c.state & (TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK)
                     and getattr(c.task_spec, "bpmn_id", None)]
            flows = [fid for fid, el in pv.elements.items()
                     if el.get("type") == "sequenceFlow" and el.get("source") == aid and el.get("target") in taken]
            out.append(Fact("gateway", aid, name, {"taken_flows": flows, "targets": taken}, str(task.id)))
        elif kind in ("boundaryEvent", "intermediateCatchEvent", "startEvent") and _is_timer(spec):
            if not isinstance(spec.event_definition, CycleTimerEventDefinition):
                # When the timer was armed in this same step (its deadline had passed when the
                # case got there), the caller has no row for it: give what arming would have.
                due_at, attached = self._due_and_attached(pv, task)
                data = {"armed_due_at": due_at.isoformat(), "attached_to": attached} if due_at else {}
                out.append(Fact("timer_fired", aid, name, data, str(task.id)))
            # a cycle's rounds are reported by _cycle_rounds; its task ending is no firing
        elif kind == "scriptTask":
            out.append(Fact("script", aid, name, {"result": _changed(task)}, str(task.id)))
        elif kind == "businessRuleTask":
            out.append(Fact("business_rule", aid, name, {"result": _changed(task)}, str(task.id)))
        elif kind == "endEvent":
            out.append(Fact("end", aid, name, {}, str(task.id)))
        elif kind in ("userTask",):
            pass  # recorded by the command itself
        else:
            out.append(Fact("activity", aid, name, {"type": kind}, str(task.id)))
        return out

    def _user_task_ids(self, wf) -> dict[str, str]:
        return {str(t.id): t.task_spec.bpmn_id for t in _ready(wf) if t.task_spec.manual}

    def _timer_ids(self, wf) -> dict[str, str]:
        return {str(t.id): t.task_spec.bpmn_id for t in self._waiting_timers(wf)}

    def _waiting_timers(self, wf):
        out = []
        for t in list(wf.event_manager.tasks.values()):
            if t.state == TaskState.WAITING and _is_timer(t.task_spec):
                value = t.internal_data.get("event_value")
                if isinstance(value, dict) and value.get("cycles") == 0:
                    continue    # an exhausted cycle never fires again
                out.append(t)
        return out

    def _cycle_marks(self, wf) -> dict[str, tuple[str, datetime, float]]:
        """Waiting cycle timers before a step: task id -> (activity id, next due, period seconds)."""
        marks = {}
        for t in self._waiting_timers(wf):
            value = t.internal_data.get("event_value")
            if isinstance(t.task_spec.event_definition, CycleTimerEventDefinition) and isinstance(value, dict):
                try:
                    marks[str(t.id)] = (t.task_spec.bpmn_id, _parse_time(value["next"]), float(value["duration"]))
                except (KeyError, TypeError, ValueError):
                    continue
        return marks

    def _cycle_rounds(self, pv: ProcessVersion, wf, marks) -> list[Fact]:
        """One timer_fired fact per round a cycle timer ran during the step (SpiffWorkflow moves
        the cycle's ``next`` on by one period per round and keeps the timer task waiting)."""
        from uuid import UUID
        out = []
        for tid, (aid, before, period) in marks.items():
            task = wf.get_task_from_id(UUID(tid))
            value = task.internal_data.get("event_value") if task is not None else None
            if not isinstance(value, dict) or period <= 0:
                continue
            try:
                after = _parse_time(value["next"])
            except (KeyError, TypeError, ValueError):
                continue
            rounds = int(round((after - before).total_seconds() / period))
            for i in range(max(rounds, 0)):
                due = before + timedelta(seconds=period * i)
                out.append(Fact("timer_fired", aid, pv.element_name(aid),
                                {"due_at": due.isoformat(), "cycle": True}, tid))
        return out

    def _due_and_attached(self, pv: ProcessVersion, t) -> tuple[datetime | None, str | None]:
        """A timer task's due time (None when it has none yet) and the id of the user task a
        boundary timer guards."""
        value = t.internal_data.get("event_value")
        if value is None:
            return None, None
        cycle = isinstance(t.task_spec.event_definition, CycleTimerEventDefinition)
        due = value["next"] if cycle and isinstance(value, dict) else value
        try:
            due_at = _parse_time(TimerEventDefinition.parse_time_or_duration(due)
                                 if not isinstance(due, datetime) else due)
        except Exception:
            return None, None
        attached = None
        target = (pv.elements.get(t.task_spec.bpmn_id) or {}).get("attached_to")
        if target and t.parent is not None:
            for sib in t.parent.children:
                if getattr(sib.task_spec, "bpmn_id", None) == target:
                    attached = str(sib.id)
        return due_at, attached

    def _result(self, pv: ProcessVersion, wf, facts, provisional, state) -> StepResult:
        user_tasks = []
        for t in wf.get_tasks(state=TaskState.READY, manual=True):
            aid = t.task_spec.bpmn_id
            info = pv.tasks.get(aid) or {}
            name = info.get("name") or pv.element_name(aid)
            role = task_roles.resolve(info, t.data)
            if role is None:
                raise UnknownTaskRole(info["role_var"], t.data.get(info["role_var"]), aid, name)
            user_tasks.append(UserTaskView(str(t.id), aid, name, role, info.get("assignee_var"),
                                           info.get("form_key", ""), t.data))
        timers = []
        prov = {p["due"]: p for p in (provisional or [])}
        for t in self._waiting_timers(wf):
            value = t.internal_data.get("event_value")
            if value is None:
                continue
            cycle = isinstance(t.task_spec.event_definition, CycleTimerEventDefinition)
            due_at, attached = self._due_and_attached(pv, t)
            if due_at is None:
                continue
            calc = prov.get(str(value["next"] if cycle and isinstance(value, dict) else value))
            timers.append(TimerView(str(t.id), t.task_spec.bpmn_id, due_at, calc is not None, attached, cycle,
                                    {"start": calc["start"], "n": calc["n"]} if calc else None))
        completed = wf.is_completed()
        outcome = None
        if completed:
            for f in reversed(facts):
                # the outcome is the process's own end event, not one of an embedded sub-process
                if f.transition == "end" and (pv.elements.get(f.activity_id) or {}).get("top", True):
                    outcome = {"id": f.activity_id, "name": f.activity_name}
                    break
        data = wf.data if completed else {}
        if completed and not data:
            for t in wf.get_tasks(state=TaskState.COMPLETED):
                if getattr(t.task_spec, "bpmn_id", None) and pv.elements.get(t.task_spec.bpmn_id, {}).get("type") == "endEvent":
                    data = t.data
        return StepResult(state, "completed" if completed else "running", outcome, user_tasks, timers, facts,
                          copy.deepcopy(data) if completed else {})


def replace_flow_conditions(pv: ProcessVersion, conditions: dict[str, str]) -> None:
    """Give sequence flows leaving gateways new condition expressions, in this parsed version only
    (what-if runs: the simulator draws branches with given probabilities). Raises KeyError naming
    a flow that is not a conditional flow of a gateway."""
    for flow_id, expression in conditions.items():
        el = pv.elements.get(flow_id) or {}
        source, target = el.get("source"), el.get("target")
        spec = _task_spec(pv, source) if source else None
        for i, (cond, target_name) in enumerate(getattr(spec, "cond_task_specs", None) or []):
            target_spec = _task_spec(pv, target_name)
            if getattr(target_spec, "bpmn_id", target_name) == target and cond is not None:
                cond.args = (expression, *cond.args[1:])
                break
        else:
            raise KeyError(flow_id)


def conditional_flows(pv: ProcessVersion, gateway_id: str) -> list[str]:
    """The conditional sequence flows leaving a gateway, in the order the engine tries them (an
    exclusive gateway takes the first whose condition holds, else its default flow)."""
    spec = _task_spec(pv, gateway_id)
    out = []
    for cond, target_name in getattr(spec, "cond_task_specs", None) or []:
        if cond is None:
            continue
        target = getattr(_task_spec(pv, target_name), "bpmn_id", target_name)
        out += [fid for fid, el in pv.elements.items() if el.get("type") == "sequenceFlow"
                and el.get("source") == gateway_id and el.get("target") == target]
    return out


def _task_spec(pv: ProcessVersion, name: str):
    for spec in (pv.spec, *(pv.subprocess_specs or {}).values()):
        found = spec.task_specs.get(name)
        if found is not None:
            return found
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) == name:
                return ts
    return None


def _is_timer(spec) -> bool:
    ev = getattr(spec, "event_definition", None)
    return isinstance(spec, CatchingEvent) and isinstance(ev, TimerEventDefinition)


def _changed(task) -> dict:
    parent = task.parent.data if task.parent is not None else {}
    out = {}
    for k, v in task.data.items():
        if k not in parent or parent[k] != v:
            out[k] = copy.deepcopy(v)
    return out


def _is_uuid(value: str) -> bool:
    from uuid import UUID
    try:
        UUID(str(value))
        return True
    except ValueError:
        return False


class _collect:
    def __enter__(self):
        self.items: list = []
        self.token = _provisional.set(self.items)
        return self.items

    def __exit__(self, *exc):
        _provisional.reset(self.token)
