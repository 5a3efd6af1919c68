"""``siji simulate KEY --calibrate-from-trace TRACE.json --out DIR``: service times fitted to live
cases. Reads a JSON trace (``siji export --format json`` / ``GET /api/traces?format=json``), takes
each completed user task of the flow with the definitions of engine/reports/lead_time.py (working
= the claim that led to completion → completion; no claim: creation → completion), converts it to
office hours on the service's calendar (settings ``working_hours``, engine/workdays.py) — the unit
the simulator draws service times in — and fits a lognormal per task by maximum likelihood
(mu, sigma = mean and standard deviation of ln hours; one value, or all equal: ``fixed``). The
result is the base settings file with ``service.tasks`` replaced for the fitted tasks.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from engine.reports.lead_time import spans_from_events
from engine.simulation.settings import Settings, parse
from engine.workdays import WorkdayCalendar
from engine.worktime import WorkingTime

MIN_HOURS = 1 / 60  # a task done within a minute still took some time: ln 0 has no lognormal


class TraceError(ValueError):
    pass


def read_trace(path: str | Path) -> list[dict]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TraceError(f"{path}: 无法读取 JSON 轨迹 / not a readable JSON trace: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != "siji-trace-json" or not isinstance(doc.get("traces"), list):
        raise TraceError(
            f"{path}: 不是 siji export --format json 的轨迹 / not a siji JSON trace (format siji-trace-json)"
        )
    return doc["traces"]


def observed_hours(traces: list[dict], key: str, worktime: WorkingTime) -> dict[str, list[float]]:
    """Working time of every completed user task of flow ``key``, in office hours."""
    out: dict[str, list[float]] = defaultdict(list)
    for case in traces:
        if case.get("process_key") != key:
            continue
        for a in spans_from_events(case.get("events") or []):
            if a.cancelled or a.end is None:
                continue
            start = a.start if a.start is not None else a.ready
            out[a.activity_id].append(worktime.between(start, a.end) / 3600.0)
    return dict(out)


def fit(hours: list[float]) -> dict:
    logs = [math.log(max(h, MIN_HOURS)) for h in hours]
    mu = sum(logs) / len(logs)
    sigma = math.sqrt(sum((x - mu) ** 2 for x in logs) / len(logs)) if len(logs) > 1 else 0.0
    if sigma < 1e-9:
        return {"fixed": round(math.exp(mu), 6)}
    return {"lognormal": {"mu": round(mu, 6), "sigma": round(sigma, 6)}}


def calibrate(
    trace_path: str | Path, key: str, tasks: dict, base: dict, calendar: WorkdayCalendar | None = None
) -> dict:
    """The base settings (raw JSON) with the fitted service times of the flow's user tasks."""
    settings: Settings = parse(base)
    worktime = WorkingTime(calendar or WorkdayCalendar(), settings.shifts)
    hours = observed_hours(read_trace(trace_path), key, worktime)
    fitted = {aid: fit(h) for aid, h in sorted(hours.items()) if aid in tasks}
    if not fitted:
        raise TraceError(
            f"{trace_path}: 轨迹中没有流程 {key} 已办结的用户任务 / no completed user task of {key} in the trace"
        )
    out = json.loads(json.dumps(base))
    service = out.setdefault("service", {})
    service.setdefault("tasks", {}).update(fitted)
    out["_doc_calibration"] = {
        "trace": str(trace_path),
        "unit": "office hours (working_hours, Chinese calendar)",
        "tasks": {
            aid: {"n": len(hours[aid]), "mean_hours": round(sum(hours[aid]) / len(hours[aid]), 4)} for aid in fitted
        },
    }
    parse(out)  # what is written must load
    return out
