"""The simulation settings file: parsing and validation (docs/SIMULATION.md, "Settings file").

Every error names the entry (``service.tasks.Task_X.lognormal.p90``) in Chinese and English.
Checks that need the process (task, role, flow and field names) happen when the runner binds the
settings to a compiled process (``Settings.check_against``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import roles
from engine.settings import DEFAULT_OFFICE_HOURS, parse_hhmm, shifts_in_order
from engine.simulation.distributions import Duration, Generator, SettingsError, parse_duration, parse_generator

DEFAULT_START = "2025-09-01T09:00:00+08:00"
DEFAULT_SHIFTS = [shift.split("-") for shift in DEFAULT_OFFICE_HOURS.split(",")]  # the reports' too
KEYS = {
    "_doc",
    "process",
    "start",
    "arrivals",
    "working_hours",
    "roles",
    "default_capacity",
    "service",
    "fields",
    "branches",
    "deadline_workdays",
    "commissioners",
    "validate_forms",
    "max_steps_per_case",
}
# Applicants and commissioners are not a department's clerks: every enterprise works on its own case.
UNLIMITED_BY_DEFAULT = {"applicant", "commissioner"}


@dataclass
class RoleSettings:
    capacity: int | None  # clerks; None = as many as there are tasks
    working_time: bool  # works office hours on working days only


@dataclass
class Settings:
    process: str | None = None
    start: datetime = field(default_factory=lambda: datetime.fromisoformat(DEFAULT_START))
    interarrival: Duration = field(default_factory=lambda: Duration("exponential", 4.0))
    arrivals_working_time: bool = True
    shifts: list[tuple[int, int]] = field(
        default_factory=lambda: [(parse_hhmm(a), parse_hhmm(b)) for a, b in DEFAULT_SHIFTS]
    )
    roles: dict[str, RoleSettings] = field(default_factory=dict)
    default_capacity: int = 2
    service_default: Duration = field(default_factory=lambda: Duration("lognormal", 0.0, 0.5))
    service_roles: dict[str, Duration] = field(default_factory=dict)
    service_tasks: dict[str, Duration] = field(default_factory=dict)
    fields: dict[str, dict[str, Generator]] = field(default_factory=dict)
    branches: dict[str, float] = field(default_factory=dict)
    deadline_workdays: float | None = None
    commissioners: list[str] = field(default_factory=lambda: ["commissioner_1"])
    validate_forms: bool = True
    max_steps_per_case: int = 2000
    raw: dict = field(default_factory=dict)

    def role(self, code: str) -> RoleSettings:
        rs = self.roles.get(code)
        if rs is not None:
            return rs
        return RoleSettings(None if code in UNLIMITED_BY_DEFAULT else self.default_capacity, True)

    def service_for(self, activity_id: str, role: str) -> Duration:
        return self.service_tasks.get(activity_id) or self.service_roles.get(role) or self.service_default

    def check_against(self, tasks: dict[str, dict], elements: dict[str, dict]) -> None:
        """Names in the settings must exist in the process (a typo would silently do nothing)."""
        for aid in self.service_tasks:
            if aid not in tasks:
                raise SettingsError(f"service.tasks.{aid}", "流程中没有此用户任务 / no such user task in the process")
        for aid in self.fields:
            if aid != "start" and aid not in tasks:
                raise SettingsError(f"fields.{aid}", "流程中没有此用户任务 / no such user task in the process")
        for fid in self.branches:
            el = elements.get(fid) or {}
            src = elements.get(el.get("source") or "") or {}
            if el.get("type") != "sequenceFlow" or src.get("type") not in ("exclusiveGateway", "inclusiveGateway"):
                raise SettingsError(
                    f"branches.{fid}",
                    "不是从排他/包容网关出发的顺序流 / not a sequence flow leaving an exclusive or inclusive gateway",
                )


def load(path: str | Path) -> Settings:
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise SettingsError(str(p), f"无法读取 / cannot read: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise SettingsError(f"{p}:{e.lineno}", f"JSON 语法错误 / malformed JSON: {e.msg}") from None
    return parse(raw)


def parse(raw: Any) -> Settings:
    if not isinstance(raw, dict):
        raise SettingsError("(root)", "应为 JSON 对象 / must be a JSON object")
    unknown = sorted(k for k in raw if k not in KEYS and not k.startswith("_doc"))
    if unknown:
        raise SettingsError(unknown[0], f"未知设置项 / unknown setting (known: {', '.join(sorted(KEYS))})")
    s = Settings(raw=raw)
    if "process" in raw:
        if not isinstance(raw["process"], str):
            raise SettingsError("process", "应为文本 / must be a string")
        s.process = raw["process"]
    if "start" in raw:
        try:
            start = datetime.fromisoformat(str(raw["start"]))
        except ValueError:
            raise SettingsError("start", "应为 ISO 8601 日期时间 / must be an ISO 8601 date-time") from None
        s.start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if "arrivals" in raw:
        a = raw["arrivals"]
        if not isinstance(a, dict) or "interarrival_hours" not in a:
            raise SettingsError(
                "arrivals",
                "应为 {interarrival_hours: 分布, working_time: 布尔} / "
                "must be {interarrival_hours: distribution, working_time: bool}",
            )
        s.interarrival = parse_duration(a["interarrival_hours"], "arrivals.interarrival_hours")
        s.arrivals_working_time = _bool(a.get("working_time", True), "arrivals.working_time")
    if "working_hours" in raw:
        wh = raw["working_hours"]
        try:
            s.shifts = sorted((parse_hhmm(a), parse_hhmm(b)) for a, b in wh)
        except (TypeError, ValueError, AttributeError):
            raise SettingsError(
                "working_hours", '应为 [["09:00", "12:00"], …] / must be [["HH:MM", "HH:MM"], …]'
            ) from None
        if not shifts_in_order(s.shifts):
            raise SettingsError(
                "working_hours", "时段须非空、递增且不重叠 / shifts must be non-empty, increasing, non-overlapping"
            )
    if "default_capacity" in raw:
        s.default_capacity = _capacity(raw["default_capacity"], "default_capacity", allow_none=False)
    for code, r in _obj(raw.get("roles", {}), "roles").items():
        if not roles.is_role(code):
            raise SettingsError(f"roles.{code}", "未知角色 / unknown role")
        r = _obj(r, f"roles.{code}")
        bad = set(r) - {"capacity", "working_time"}
        if bad:
            raise SettingsError(
                f"roles.{code}.{sorted(bad)[0]}", "未知设置项 / unknown setting (capacity, working_time)"
            )
        default = s.role(code)
        s.roles[code] = RoleSettings(
            _capacity(r["capacity"], f"roles.{code}.capacity") if "capacity" in r else default.capacity,
            _bool(r.get("working_time", True), f"roles.{code}.working_time"),
        )
    svc = _obj(raw.get("service", {}), "service")
    bad = set(svc) - {"default", "roles", "tasks"}
    if bad:
        raise SettingsError(f"service.{sorted(bad)[0]}", "未知设置项 / unknown setting (default, roles, tasks)")
    if "default" in svc:
        s.service_default = parse_duration(svc["default"], "service.default")
    for code, d in _obj(svc.get("roles", {}), "service.roles").items():
        if not roles.is_role(code):
            raise SettingsError(f"service.roles.{code}", "未知角色 / unknown role")
        s.service_roles[code] = parse_duration(d, f"service.roles.{code}")
    for aid, d in _obj(svc.get("tasks", {}), "service.tasks").items():
        s.service_tasks[aid] = parse_duration(d, f"service.tasks.{aid}")
    for aid, fs in _obj(raw.get("fields", {}), "fields").items():
        s.fields[aid] = {
            name: parse_generator(g, f"fields.{aid}.{name}") for name, g in _obj(fs, f"fields.{aid}").items()
        }
    for fid, prob in _obj(raw.get("branches", {}), "branches").items():
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
            raise SettingsError(f"branches.{fid}", "应为 0 到 1 之间的概率 / must be a probability between 0 and 1")
        s.branches[fid] = float(prob)
    if raw.get("deadline_workdays") is not None:
        d = raw["deadline_workdays"]
        if isinstance(d, bool) or not isinstance(d, (int, float)) or d <= 0:
            raise SettingsError("deadline_workdays", "应为正数 / must be a positive number")
        s.deadline_workdays = float(d)
    if "commissioners" in raw:
        c = raw["commissioners"]
        if not isinstance(c, list) or not c or not all(isinstance(x, str) and x for x in c):
            raise SettingsError("commissioners", "应为非空的用户名列表 / must be a non-empty list of usernames")
        s.commissioners = list(c)
    s.validate_forms = _bool(raw.get("validate_forms", True), "validate_forms")
    if "max_steps_per_case" in raw:
        s.max_steps_per_case = _capacity(raw["max_steps_per_case"], "max_steps_per_case", allow_none=False)
    return s


def _obj(v: Any, path: str) -> dict:
    if not isinstance(v, dict):
        raise SettingsError(path, "应为对象 / must be an object")
    return v


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise SettingsError(path, "应为 true 或 false / must be true or false")
    return v


def _capacity(v: Any, path: str, allow_none: bool = True) -> int | None:
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise SettingsError(
            path,
            "应为正整数"
            + ("或 null（不限）" if allow_none else "")
            + " / must be a positive integer"
            + (" or null (unlimited)" if allow_none else ""),
        )
    return v
