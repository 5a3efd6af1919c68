"""What an engine step tells its caller: the process version it ran, the user tasks and timers
now open, the facts for the audit trail, and the errors a step can end with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

UTC = UTC
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
        super().__init__(
            f"“{activity_name}”的承办部门取自 {field}={value!r}，不是已登记的部门 / "
            f"{field}={value!r} is not a known department (task {activity_id})",
            activity_id,
            activity_name,
        )


class TaskNotReady(Exception):
    pass


@dataclass
class ProcessVersion:
    id: int
    key: str
    version: int
    spec: Any
    subprocess_specs: Any
    tasks: dict[str, dict]  # activity id -> {name, role, role_var, lane, form_key, assignee_var}
    elements: dict[str, dict]  # id -> {name, type, source?, target?}
    resources: dict[str, Any]
    script_engine: PythonScriptEngine | None = None
    _outgoing: dict[str, list[tuple[str, str]]] | None = field(default=None, repr=False, compare=False)

    def flows_from(self, activity_id: str) -> list[tuple[str, str]]:
        """(flow id, target id) of each sequence flow leaving the element, in document order."""
        if self._outgoing is None:
            out: dict[str, list[tuple[str, str]]] = {}
            for fid, el in self.elements.items():
                if el.get("type") == "sequenceFlow":
                    out.setdefault(el.get("source"), []).append((fid, el.get("target")))
            self._outgoing = out
        return self._outgoing.get(activity_id, [])

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
    attached_to: str | None = None  # the user task id a boundary timer guards
    cycle: bool = False
    calc: dict | None = None  # for a provisional working-day deadline: {start, n} to recompute


@dataclass
class Fact:
    """Something that happened during a command; the caller turns facts into audit events."""

    transition: str  # e.g. "complete", "gateway", "timer_fired", "end"
    activity_id: str | None
    activity_name: str
    data: dict = field(default_factory=dict)
    task_id: str | None = None


@dataclass
class StepResult:
    state: str
    status: str  # running | completed
    outcome: dict | None  # {id, name} of the end event reached
    user_tasks: list[UserTaskView]
    timers: list[TimerView]
    facts: list[Fact]
    data: dict
    # BPMN messages the step threw that no task of this case caught: {name, payload, result_var}
    # (engine/workflow/messages.py; the caller queues them for other cases)
    messages: list[dict] = field(default_factory=list)
