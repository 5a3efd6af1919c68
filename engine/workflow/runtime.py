"""Running instances: start, complete a user task, fire due timers.

Each command loads the instance from its saved state, works on a private copy and returns the
new state plus what changed (user tasks, timers, audit facts). Nothing is written anywhere by
this module: the caller commits it all in one transaction, or, when the engine raises,
commits nothing, so a failing step never leaves a half-advanced instance.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine.metrics import engine_step
from engine.workdays import WorkdayCalendar
from engine.workflow import (
    flow_settings,
    spiff_depth,  # noqa: F401  (cases deeper than 1000 tasks)
    spiff_fast,
    spiff_fixes,  # noqa: F401  (parallel joins inside loops)
    spiff_merge,  # noqa: F401  (task data merge, same result)
    spiff_quiet,  # noqa: F401  (no log details nobody reads)
    task_roles,
)
from engine.workflow.conditions import conditional_flows, replace_flow_conditions  # noqa: F401  (the simulator's)
from engine.workflow.messages import thrown_messages
from engine.workflow.results import (  # noqa: F401
    CHINA,
    MAX_ROUNDS,
    UTC,
    EngineError,
    Fact,
    ProcessVersion,
    StepResult,
    TaskNotReady,
    TimerView,
    UnknownTaskRole,
    UserTaskView,
)
from engine.workflow.script_helpers import _collect, _parse_time, script_helpers  # noqa: F401
from engine.workflow.scripting import SafeEnvironment, ScriptEngine, ScriptLimitExceeded, ScriptRefused
from engine.workflow.serializer import dump_workflow, load_workflow, spec_from_state, task_data


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
        pv = ProcessVersion(
            row["id"], row["key"], row["version"], spec, subs, row["tasks"], row["elements"], row["resources"]
        )
        pv.script_engine = self._script_engine(pv)
        with self._lock:
            self._versions.setdefault(version_id, pv)
        return self._versions[version_id]

    def compiled_version(self, compiled, version_id: int = 0, version: int = 1) -> ProcessVersion:
        """A runnable version straight from ``deploy.compile_deployment`` (no database: the
        simulator). Not cached: the caller keeps it."""
        pv = ProcessVersion(
            version_id,
            compiled.key,
            version,
            compiled.spec,
            compiled.subprocess_specs,
            {k: t.as_dict() for k, t in compiled.tasks.items()},
            compiled.elements,
            compiled.resources,
        )
        pv.script_engine = self._script_engine(pv)
        return pv

    def _script_engine(self, pv: ProcessVersion) -> PythonScriptEngine:
        return ScriptEngine(environment=SafeEnvironment(self.helpers(pv.resources)))

    def helpers(self, resources: dict) -> dict[str, Callable]:
        return script_helpers(self.calendar, resources)

    # ----------------------------------------------------------------- commands
    @engine_step("start")
    def start(self, pv: ProcessVersion, data: dict) -> StepResult:
        return self._start(pv, data, dump=True)[1]

    def _start(self, pv: ProcessVersion, data: dict, dump: bool, fast: bool = False) -> tuple[BpmnWorkflow, StepResult]:
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
            facts = [
                Fact(
                    "complete",
                    task.task_spec.bpmn_id,
                    pv.element_name(task.task_spec.bpmn_id),
                    {"data": copy.deepcopy(data)},
                    str(task.id),
                )
            ]
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
    def start_in_memory(
        self, pv: ProcessVersion, data: dict, accelerate: bool = True
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
            raise EngineError(
                f"{type(e).__name__}: {e}", task.task_spec.bpmn_id, pv.element_name(task.task_spec.bpmn_id)
            ) from e

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
        thrown = thrown_messages(wf)  # before the dump: they leave the case now, not on its next load
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
            taken = [
                c.task_spec.bpmn_id
                for c in task.children
                if c.state & (TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK)
                and getattr(c.task_spec, "bpmn_id", None)
            ]
            flows = [fid for fid, target in pv.flows_from(aid) if target in taken]
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
                    continue  # an exhausted cycle never fires again
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
                out.append(
                    Fact("timer_fired", aid, pv.element_name(aid), {"due_at": due.isoformat(), "cycle": True}, tid)
                )
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
            due_at = _parse_time(
                TimerEventDefinition.parse_time_or_duration(due) if not isinstance(due, datetime) else due
            )
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
            user_tasks.append(
                UserTaskView(str(t.id), aid, name, role, info.get("assignee_var"), info.get("form_key", ""), t.data)
            )
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
            timers.append(
                TimerView(
                    str(t.id),
                    t.task_spec.bpmn_id,
                    due_at,
                    calc is not None,
                    attached,
                    cycle,
                    {"start": calc["start"], "n": calc["n"]} if calc else None,
                )
            )
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
                if (
                    getattr(t.task_spec, "bpmn_id", None)
                    and pv.elements.get(t.task_spec.bpmn_id, {}).get("type") == "endEvent"
                ):
                    data = t.data
        return StepResult(
            state,
            "completed" if completed else "running",
            outcome,
            user_tasks,
            timers,
            facts,
            copy.deepcopy(data) if completed else {},
        )


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
