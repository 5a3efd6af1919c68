"""Aggregating a simulation (observed cases use the same activity figures: engine/reports/lead_time.py) into the figures
docs/SIMULATION.md describes, and writing them as JSON and CSV.

Per case: lead time in calendar days and in working days (office hours on working days / the
office hours of one day). Per activity: waiting (ready → a clerk starts, in office hours) and
working (start → done) time, in hours. Per role: utilisation = booked working hours / (clerks ×
office hours between the first arrival and the last event). Deadline misses: boundary timers that
fired (the task was not done in time), per timer, and cases over ``deadline_workdays``.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from engine.reports.lead_time import ActivityTimes, activity_figures, percentile, stats  # noqa: F401 (re-exported)
from engine.worktime import WorkingTime, from_epoch


@dataclass
class CaseTimes:
    case: str
    arrived: float
    ended: float | None
    outcome: dict | None
    activities: list[ActivityTimes] = field(default_factory=list)
    timers_fired: list[tuple[str, float]] = field(default_factory=list)


def figures(
    cases: list[CaseTimes],
    worktime: WorkingTime,
    boundary_of: dict[str, str | None],
    names: dict[str, str],
    deadline_workdays: float | None = None,
) -> dict:
    """Lead times, waiting/working per activity and deadline misses; the same code for simulated
    and observed cases, so the two can be compared figure by figure."""
    case_rows, cal_days, work_days = [], [], []
    missed_cases = 0
    for c in cases:
        row = {
            "case": c.case,
            "arrived": from_epoch(c.arrived).isoformat(),
            "ended": from_epoch(c.ended).isoformat() if c.ended is not None else None,
            "outcome": (c.outcome or {}).get("id"),
            "outcome_name": (c.outcome or {}).get("name"),
            "lead_calendar_days": None,
            "lead_working_days": None,
            "deadline_missed": None,
            "timers_fired": len(c.timers_fired),
        }
        if c.ended is not None:
            cd = (c.ended - c.arrived) / 86400.0
            wd = worktime.working_days(c.arrived, c.ended)
            row["lead_calendar_days"], row["lead_working_days"] = round(cd, 4), round(wd, 4)
            cal_days.append(cd)
            work_days.append(wd)
            if deadline_workdays is not None:
                row["deadline_missed"] = wd > deadline_workdays
                missed_cases += wd > deadline_workdays
        case_rows.append(row)

    activities = activity_figures(a for c in cases for a in c.activities)

    fired = defaultdict(int)
    for c in cases:
        for tid, _ in c.timers_fired:
            fired[tid] += 1
    misses = [
        {
            "timer_id": tid,
            "timer_name": names.get(tid, tid),
            "task_id": boundary_of.get(tid),
            "task_name": names.get(boundary_of.get(tid) or "", boundary_of.get(tid)),
            "fired": n,
        }
        for tid, n in sorted(fired.items())
        if boundary_of.get(tid)
    ]
    other_timers = [
        {"timer_id": tid, "timer_name": names.get(tid, tid), "fired": n}
        for tid, n in sorted(fired.items())
        if not boundary_of.get(tid)
    ]
    finished = len(cal_days)
    return {
        "cases": len(cases),
        "completed": finished,
        "running": len(cases) - finished,
        "lead_time": {"calendar_days": stats(cal_days), "working_days": stats(work_days)},
        "deadline": {
            "deadline_workdays": deadline_workdays,
            "cases_missed": missed_cases if deadline_workdays is not None else None,
            "share_missed": round(missed_cases / finished, 4) if deadline_workdays is not None and finished else None,
            "task_deadlines_missed": misses,
        },
        "timers_fired": other_timers,
        "activities": activities,
        "outcomes": _outcomes(cases),
        "case_rows": case_rows,
    }


def _outcomes(cases: list[CaseTimes]) -> list[dict]:
    out: dict[str, dict] = {}
    for c in cases:
        if c.outcome:
            o = out.setdefault(c.outcome["id"], {"id": c.outcome["id"], "name": c.outcome.get("name"), "count": 0})
            o["count"] += 1
    return sorted(out.values(), key=lambda o: -o["count"])


@dataclass
class Part:
    """What one replication hands back (picklable, so a worker process can return it): its cases,
    and per role (capacity, booked hours, available office hours, round the clock?)."""

    cases: list[CaseTimes]
    roles: dict[str, tuple[int | None, float, float]]
    first: float
    last: float

    @classmethod
    def of(cls, sim, last: float) -> Part:
        cases = [
            CaseTimes(
                str(c.no + 1),
                c.arrived,
                c.ended,
                c.outcome,
                [
                    ActivityTimes(r.activity_id, r.name, r.role, r.ready, r.start, r.end, r.cancelled)
                    for r in c.done + list(c.open.values())
                ],
                c.timers_fired,
            )
            for c in sim.cases
        ]
        first = sim.cases[0].arrived if sim.cases else last
        office = sim.worktime.between(first, last) / 3600.0
        roles = {
            code: (
                r.capacity,
                r.busy_hours,
                (office if r.time is sim.worktime else (last - first) / 3600.0) * (r.capacity or 0),
            )
            for code, r in sim.roles.items()
        }
        return cls(cases, roles, first, last)


@dataclass
class SimulationResult:
    process_key: str
    process_name: str
    figures: dict
    roles: list[dict]
    meta: dict

    @classmethod
    def merge(cls, pv, settings, worktime: WorkingTime, parts: list[Part]) -> SimulationResult:
        """Replications in their order: cases numbered through, role hours summed — the same
        figures whichever process ran which replication."""
        cases: list[CaseTimes] = []
        for part in parts:
            for c in part.cases:
                cases.append(
                    CaseTimes(str(len(cases) + 1), c.arrived, c.ended, c.outcome, c.activities, c.timers_fired)
                    if len(parts) > 1
                    else c
                )
        names = {eid: el.get("name") or eid for eid, el in pv.elements.items()}
        boundary_of = {
            eid: el.get("attached_to") for eid, el in pv.elements.items() if el.get("type") == "boundaryEvent"
        }
        figs = figures(cases, worktime, boundary_of, names, settings.deadline_workdays)
        from engine import roles as rolemod

        totals: dict[str, list] = {}
        for part in parts:
            for code, (capacity, busy, available) in part.roles.items():
                t = totals.setdefault(code, [capacity, 0.0, 0.0])
                t[1] += busy
                t[2] += available
        role_rows = []
        for code, (capacity, busy, available) in sorted(totals.items()):
            role_rows.append(
                {
                    "role": code,
                    "role_name": rolemod.role_name(code),
                    "capacity": capacity,
                    "busy_hours": round(busy, 2),
                    "available_hours": round(available, 2) if capacity else None,
                    "utilisation": round(busy / available, 4) if capacity and available else None,
                }
            )
        last = max((p.last for p in parts), default=settings.start.timestamp())
        meta = {
            "start": settings.start.isoformat(),
            "end": from_epoch(last).isoformat(),
            "office_hours_per_day": worktime.seconds_per_day / 3600.0,
            "replications": len(parts),
        }
        return cls(pv.key, getattr(pv.spec, "description", None) or pv.key, figs, role_rows, meta)

    def as_dict(self, include_cases: bool = True) -> dict:
        figs = dict(self.figures)
        if not include_cases:
            figs.pop("case_rows", None)
        return {
            "process_key": self.process_key,
            "process_name": self.process_name,
            **self.meta,
            **figs,
            "roles": self.roles,
        }

    def write(self, out: Path, extra_meta: dict | None = None) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        d = self.as_dict()
        d.update(extra_meta or {})
        written = [out / "simulation.json", out / "cases.csv", out / "activities.csv", out / "roles.csv"]
        written[0].write_text(json.dumps(d, ensure_ascii=False, indent=1), encoding="utf-8")
        _csv(written[1], self.figures["case_rows"])
        _csv(
            written[2],
            [
                {
                    "activity_id": a["activity_id"],
                    "name": a["name"],
                    "role": a["role"],
                    "completed": a["completed"],
                    "cancelled": a["cancelled"],
                    **{f"waiting_{k}_h": a["waiting_hours"][k] for k in ("mean", "median", "p90")},
                    **{f"working_{k}_h": a["working_hours"][k] for k in ("mean", "median", "p90")},
                }
                for a in self.figures["activities"]
            ],
        )
        _csv(written[3], self.roles)
        return written


def _csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        if not rows:
            return
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
