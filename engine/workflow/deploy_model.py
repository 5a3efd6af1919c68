"""What deployment works with: uploaded files, the problems found (each naming file, line and
element), and what a process compiles into (its user tasks, resources and spec)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# Names SpiffWorkflow gives its own task specs; an element with one of these ids would be
# silently merged with them.
RESERVED_IDS = {"Start", "End", "Root"}
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventParent", ".BoundaryEventSplit", ".BoundaryEventJoin")

MAX_FORM_BYTES = 512 * 1024
MAX_JSON_BYTES = 1024 * 1024


@dataclass
class Problem:
    file: str
    line: int | None
    element: str | None
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element": self.element, "message": self.message}


class DeploymentRefused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems[:5]))
        self.problems = problems


@dataclass
class UploadedFile:
    name: str
    data: bytes


@dataclass
class TaskInfo:
    activity_id: str
    name: str
    role: str
    lane: str | None
    form_key: str
    assignee_var: str | None = None
    line: int | None = None
    role_var: str | None = None  # candidateGroups="${var}": the department named by data var

    def as_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class CompiledProcess:
    key: str
    name: str
    bpmn_file: str
    bpmn_xml: str
    spec_state: dict  # serialized spec + subprocess specs (stored once per version)
    tasks: dict[str, TaskInfo]  # user tasks by activity id
    elements: dict[str, dict]  # every flow element: {name, type}
    start_form: dict | None
    starter_roles: list[str]
    resources: dict[str, Any]  # dmn files, forms, settings, catalogue of this version
    spec: Any = None  # parsed spec objects (kept in memory by the engine cache)
    subprocess_specs: Any = None


@dataclass
class Previous:
    """Resources of the latest deployed version of a process, used when a redeploy uploads only
    the diagram (the modeler page does that)."""

    dmn: dict[str, str] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)
    settings: dict[str, Any] | None = None
    catalogue: Any = None
