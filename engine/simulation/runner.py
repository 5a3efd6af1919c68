"""The discrete-event loop: synthetic cases through the real engine on a simulated clock.

Each case is a live SpiffWorkflow workflow driven through engine/workflow/runtime.py (``start_in_memory``,
``complete_in_memory``, ``fire_timers_in_memory``) — the very gateway conditions, scripts, DMN
tables and timer expressions the service runs. The engine's clock (engine/clock.py) is a
``FixedClock`` the loop sets to each event's time, so ``now()``, ``workdays_after`` and the timers'
own due-time checks all read simulated time.

Events, in time order (ties in the order they were scheduled):

* ``arrive``: a case starts with a generated start form;
* ``done``: a clerk finished a task — the engine completes it with generated form data;
* ``timer``: a timer's due time — the engine fires what is due.

After every engine step the ready user tasks are compared with the case's known ones: new tasks
join their role's FIFO queue, tasks gone without completion (an interrupting boundary timer, a
terminated branch) leave the queue or free their clerk. A clerk works only in office hours on
working days (engine/workdays.py calendar) unless the role says otherwise; a task's service time
is drawn when a clerk takes it.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from engine.clock import FixedClock
from engine.simulation.distributions import SettingsError
from engine.simulation.formdata import FormFiller, options_for
from engine.simulation.settings import Settings
from engine.workdays import WorkdayCalendar
from engine.workflow.deploy import CompiledProcess
from engine.workflow.runtime import Engine, EngineError, ProcessVersion, conditional_flows, replace_flow_conditions
from engine.workflow.spiff_ids import counted_task_ids
from engine.worktime import CalendarTime, WorkingTime, from_epoch

ARRIVE, DONE, TIMER = 0, 1, 2
TICK = timedelta(microseconds=1)

if TYPE_CHECKING:
    from engine.simulation.results import SimulationResult


class SimulationError(RuntimeError):
    pass


class _SimEngine(Engine):
    """The service's engine plus one helper, ``sim_branch(p)``: True with probability p. Only the
    simulator's own copy of a version has conditions calling it (settings ``branches``)."""

    def __init__(self, clock, calendar, rng: random.Random):
        super().__init__(clock=clock, calendar=calendar)
        self.rng = rng

    def helpers(self, resources: dict):
        h = super().helpers(resources)
        rng = self.rng

        def sim_branch(p) -> bool:
            return rng.random() < float(p)

        h["sim_branch"] = sim_branch
        return h


@dataclass
class TaskRun:
    case: CaseRun
    task_id: str
    activity_id: str
    name: str
    role: str
    ready: float
    start: float | None = None  # a clerk took it (the first office-hours instant after)
    end: float | None = None
    work_hours: float = 0.0  # drawn service time (working hours)
    cancelled: bool = False


@dataclass
class CaseRun:
    no: int
    wf: object
    arrived: float
    ended: float | None = None
    outcome: dict | None = None
    open: dict[str, TaskRun] = field(default_factory=dict)
    done: list[TaskRun] = field(default_factory=list)
    timers: set = field(default_factory=set)
    timers_fired: list[tuple[str, float]] = field(default_factory=list)
    steps: int = 0


class _Role:
    __slots__ = ("code", "capacity", "free", "queue", "busy_hours", "time")

    def __init__(self, code: str, capacity: int | None, time):
        self.code, self.capacity, self.time = code, capacity, time
        self.free = capacity
        self.queue: deque[TaskRun] = deque()
        self.busy_hours = 0.0


class Simulation:
    def __init__(
        self,
        compiled: CompiledProcess,
        settings: Settings,
        seed: int = 1,
        calendar: WorkdayCalendar | None = None,
        accelerate: bool = True,
    ):
        self.settings = settings
        self.accelerate = accelerate
        self.rng = random.Random(seed)
        self.id_rng = random.Random(seed + 104729)  # task ids: apart from the draws above
        self.calendar = calendar or WorkdayCalendar()
        self.clock = FixedClock(settings.start)
        self.engine = _SimEngine(self.clock, self.calendar, random.Random(seed + 7919))
        self.pv: ProcessVersion = self.engine.compiled_version(compiled)
        settings.check_against(self.pv.tasks, self.pv.elements)
        self._apply_branches()
        self.worktime = WorkingTime(self.calendar, settings.shifts)
        options = options_for(self.pv.resources, settings.commissioners)
        forms = self.pv.resources.get("forms") or {}
        self.fillers: dict[str, FormFiller] = {}
        for aid, info in self.pv.tasks.items():
            self.fillers[aid] = FormFiller(
                aid, forms[info["form_key"]], settings.fields.get(aid, {}), options, settings.validate_forms
            )
        start_form = forms.get(f"{self.pv.key}/start")
        self.start_filler = (
            FormFiller("start", start_form, settings.fields.get("start", {}), options, settings.validate_forms)
            if start_form
            else None
        )
        self.roles: dict[str, _Role] = {}
        self.boundary_of = {
            eid: el.get("attached_to") for eid, el in self.pv.elements.items() if el.get("type") == "boundaryEvent"
        }

    def _apply_branches(self) -> None:
        by_gateway: dict[str, dict[str, float]] = {}
        for fid, p in self.settings.branches.items():
            by_gateway.setdefault(self.pv.elements[fid]["source"], {})[fid] = p
        conditions: dict[str, str] = {}
        for gw, probs in by_gateway.items():
            order = conditional_flows(self.pv, gw)
            missing = [f for f in probs if f not in order]
            if missing:
                raise SettingsError(
                    f"branches.{missing[0]}",
                    "此顺序流没有条件（默认流取余下概率）/ "
                    "the flow has no condition (a default flow takes the remaining probability)",
                )
            if self.pv.elements[gw]["type"] == "inclusiveGateway":
                conditions.update({f: f"sim_branch({p!r})" for f, p in probs.items()})
                continue
            if sum(probs.values()) > 1 + 1e-9:
                raise SettingsError(
                    f"branches.{next(iter(probs))}",
                    f"网关 {gw} 各分支概率之和大于 1 / probabilities at {gw} add up to more than 1",
                )
            rest = [f for f in order if f not in probs]
            if rest:
                raise SettingsError(
                    f"branches.{rest[0]}",
                    f"网关 {gw} 的每个条件分支都须给出概率 / give a probability for every conditional flow of {gw}",
                )
            remaining = 1.0
            for f in order:  # first true wins: P(f) = p / P(no earlier flow taken)
                p = probs[f]
                conditions[f] = "False" if remaining <= 1e-12 else f"sim_branch({min(1.0, p / remaining)!r})"
                remaining -= p
        replace_flow_conditions(self.pv, conditions)

    def _role(self, code: str) -> _Role:
        r = self.roles.get(code)
        if r is None:
            rs = self.settings.role(code)
            r = self.roles[code] = _Role(code, rs.capacity, self.worktime if rs.working_time else CalendarTime())
        return r

    # ------------------------------------------------------------------------- the loop
    def run(self, n_cases: int, progress=None, result: bool = True) -> SimulationResult | None:
        """Simulate; ``self.part`` holds the raw cases (what a replication hands back), the
        merged figures are returned unless ``result`` is False."""
        from engine.simulation.results import Part, SimulationResult

        self.events: list = []
        self.seq = 0
        self.cases: list[CaseRun] = []
        t = self.settings.start.timestamp()
        s = self.settings
        for i in range(n_cases):
            if i:
                gap = s.interarrival.draw(self.rng) * 3600.0
                t = self.worktime.add(t, gap) if s.arrivals_working_time else t + gap
            elif s.arrivals_working_time:
                t = self.worktime.next_working(t)
            self._push(t, ARRIVE, i)
        last = t
        pop, events = heapq.heappop, self.events
        with counted_task_ids(self.id_rng):
            while events:
                t, _, kind, payload = pop(events)
                last = t
                if kind == ARRIVE:
                    self._arrive(payload, t)
                    if progress is not None:
                        progress(payload + 1, n_cases)
                elif kind == DONE:
                    self._done(payload, t)
                else:
                    self._timer(payload, t)
        self.part = Part.of(self, last)
        return SimulationResult.merge(self.pv, self.settings, self.worktime, [self.part]) if result else None

    def _push(self, t: float, kind: int, payload) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, payload))

    def _now(self, t: float) -> None:
        self.clock.set(from_epoch(t))

    def _arrive(self, no: int, t: float) -> None:
        self._now(t)
        data = self.start_filler.fill(self.rng, from_epoch(t), no, {}) if self.start_filler else {}
        # what the service adds to every new case (engine/service/commands.py start): the
        # enterprise and its paired commissioner (one of the settings' commissioners, or none)
        data.setdefault("initiator", f"enterprise_{no}")
        data.setdefault("enterprise_user", f"enterprise_{no}")
        commissioners = self.settings.commissioners
        data.setdefault("commissioner", commissioners[no % len(commissioners)] if commissioners else None)
        try:
            wf, res = self.engine.start_in_memory(self.pv, data, self.accelerate)
        except EngineError as e:
            raise SimulationError(f"case {no}: start: {e.activity_id or ''} {e.message}") from e
        case = CaseRun(no, wf, t)
        self.cases.append(case)
        self._after(case, res, t)

    def _done(self, run: TaskRun, t: float) -> None:
        role = self._role(run.role)
        if run.cancelled:  # its task went away while a clerk was on it: the clerk was freed then
            return
        run.end = t
        case = run.case
        del case.open[run.task_id]
        case.done.append(run)
        self._release(role, t)
        if case.ended is None:
            self._now(t)
            data = self.fillers[run.activity_id].fill(self.rng, from_epoch(t), case.no, {})
            try:
                res = self.engine.complete_in_memory(self.pv, case.wf, run.task_id, data)
            except EngineError as e:
                raise SimulationError(f"case {case.no}: {run.activity_id}: {e.message}") from e
            self._after(case, res, t)
        self._dispatch(role, t)

    def _timer(self, payload, t: float) -> None:
        case, key, due_at = payload
        case.timers.discard(key)
        if case.ended is not None:
            return
        # SpiffWorkflow fires a timer once its due time is strictly past, and a float round trip
        # can land a microsecond early: the clock reads one microsecond after the exact due time
        now = from_epoch(t)
        due_at = due_at + TICK
        self.clock.set(due_at if due_at > now else now)
        try:
            res = self.engine.fire_timers_in_memory(self.pv, case.wf)
        except EngineError as e:
            raise SimulationError(f"case {case.no}: timer: {e.activity_id or ''} {e.message}") from e
        self._after(case, res, t)

    def _after(self, case: CaseRun, res, t: float) -> None:
        case.steps += 1
        if case.steps > self.settings.max_steps_per_case:
            raise SimulationError(
                f"case {case.no}: more than {self.settings.max_steps_per_case} steps "
                "(a loop whose exit the generated data never takes? see settings fields)"
            )
        for f in res.facts:
            if f.transition == "timer_fired":
                case.timers_fired.append((f.activity_id, t))
        ready = {u.id: u for u in res.user_tasks}
        for tid in [tid for tid in case.open if tid not in ready]:
            self._cancel(case.open.pop(tid), t)
        touched: dict[str, _Role] = {}  # in order: a set of objects would iterate by address
        for tid, u in ready.items():
            if tid in case.open:
                continue
            run = TaskRun(case, tid, u.activity_id, u.name, u.role, t)
            case.open[tid] = run
            role = self._role(u.role)
            role.queue.append(run)
            touched[role.code] = role
        if res.status == "completed":
            case.ended = t
            case.outcome = res.outcome
            case.wf = None  # a finished case's tree only weighs on the garbage collector
            for tid in list(case.open):
                self._cancel(case.open.pop(tid), t)
        else:
            for tv in res.timers:
                due = tv.due_at.timestamp()
                key = (tv.task_id, due)
                if key not in case.timers:
                    case.timers.add(key)
                    self._push(max(due, t), TIMER, (case, key, tv.due_at))
        for role in touched.values():
            self._dispatch(role, t)

    def _cancel(self, run: TaskRun, t: float) -> None:
        run.cancelled = True
        run.end = t
        run.case.done.append(run)
        if run.start is not None:  # a clerk was on it: count the work done so far, free the clerk
            role = self._role(run.role)
            done = (
                self.worktime.between(run.start, t) / 3600.0 if role.time is self.worktime else (t - run.start) / 3600.0
            )
            role.busy_hours += min(done, run.work_hours) - run.work_hours  # _take booked it all
            self._release(role, t)
            self._dispatch(role, t)

    def _release(self, role: _Role, t: float) -> None:
        if role.capacity is not None:
            role.free += 1

    def _dispatch(self, role: _Role, t: float) -> None:
        q = role.queue
        while q and (role.capacity is None or role.free > 0):
            run = q.popleft()
            if run.cancelled:
                continue
            if role.capacity is not None:
                role.free -= 1
            hours = self.settings.service_for(run.activity_id, run.role).draw(self.rng)
            run.work_hours = hours
            run.start = role.time.next_working(t)
            role.busy_hours += hours
            self._push(role.time.add(t, hours * 3600.0), DONE, run)


def simulate(
    compiled: CompiledProcess,
    settings: Settings,
    n_cases: int,
    seed: int = 1,
    calendar: WorkdayCalendar | None = None,
    progress=None,
):
    return Simulation(compiled, settings, seed, calendar).run(n_cases, progress)
