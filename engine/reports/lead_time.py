"""Waiting and working per activity: ONE definition for observed cases (their audit trail, read
by ``/api/reports/flows``) and simulated ones (engine/simulation/results.py), so the two can be
compared figure by figure.

* ready = the task was created (audit ``scheduled``); start = the claim that led to its completion
  (the last ``claim`` before ``complete``: time released back to the pool counts as waiting);
  end = ``complete``.
* waiting = ready → start, working = start → end, elapsed hours. A task completed without a claim
  waited 0 and worked ready → end (the departments report's handling time does the same).
* cancelled tasks (a boundary timer, an ended case) are counted, not timed.
* medians and 90th percentiles interpolate between the closest ranks (``percentile_cont``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

TASK_TRANSITIONS = ("scheduled", "claim", "unclaim", "complete", "cancel")


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(xs[lo]) if lo == hi else xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def stats(values: list[float], digits: int = 3) -> dict:
    def r(v):
        return None if v is None else round(v, digits)

    return {
        "count": len(values),
        "mean": r(sum(values) / len(values)) if values else None,
        "median": r(percentile(values, 0.5)),
        "p90": r(percentile(values, 0.9)),
        "min": r(min(values)) if values else None,
        "max": r(max(values)) if values else None,
    }


@dataclass
class ActivityTimes:
    """What one task did, in epoch seconds: ready, started (None: never claimed), ended (None:
    still open), cancelled."""

    activity_id: str
    name: str
    role: str
    ready: float
    start: float | None
    end: float | None
    cancelled: bool = False


def activity_figures(activities: Iterable[ActivityTimes]) -> list[dict]:
    """Per activity: completed, cancelled, waiting and working hours (stats), waiting share;
    the activities that took longest (mean waiting + working) first."""
    acts: dict[str, dict] = {}
    waits, works = defaultdict(list), defaultdict(list)
    for a in activities:
        st = acts.setdefault(
            a.activity_id,
            {"activity_id": a.activity_id, "name": a.name, "role": a.role, "completed": 0, "cancelled": 0},
        )
        if a.cancelled:
            st["cancelled"] += 1
            continue
        if a.end is None:
            continue
        st["completed"] += 1
        start = a.start if a.start is not None else a.ready
        waits[a.activity_id].append((start - a.ready) / 3600.0)
        works[a.activity_id].append((a.end - start) / 3600.0)
    out = []
    for aid, st in acts.items():
        w, k = waits[aid], works[aid]
        total = sum(w) + sum(k)
        out.append(
            {
                **st,
                "waiting_hours": stats(w),
                "working_hours": stats(k),
                "waiting_share": round(sum(w) / total, 4) if total > 0 else None,
            }
        )
    out.sort(key=lambda a: (-((a["waiting_hours"]["mean"] or 0) + (a["working_hours"]["mean"] or 0)), a["activity_id"]))
    return out


def _epoch(at) -> float:
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:  # SQLite gives the stored UTC times back naive
        at = at.replace(tzinfo=UTC)
    return at.timestamp()


def spans_from_events(events: Iterable[dict]) -> list[ActivityTimes]:
    """The user tasks of one case from its audit events in order (dicts with ``transition``,
    ``task_id``, ``activity_id``, ``activity_name``, ``role``, ``at`` as datetime or ISO text)."""
    spans: dict[str, ActivityTimes] = {}
    for e in events:
        t, tid = e["transition"], e.get("task_id")
        if t not in TASK_TRANSITIONS or not tid:
            continue
        at = _epoch(e["at"])
        s = spans.get(tid)
        if t == "scheduled":
            if s is None:
                spans[tid] = ActivityTimes(
                    e.get("activity_id") or "", e.get("activity_name") or "", e.get("role") or "", at, None, None
                )
            continue
        if s is None or s.end is not None:
            continue
        if t == "claim":
            s.start = at
        elif t == "unclaim":
            s.start = None
        elif t == "complete":
            s.end = at
        elif t == "cancel":
            s.end, s.cancelled = at, True
    return list(spans.values())


def observed_activities(session, start: datetime | None = None, end: datetime | None = None) -> dict[str, list[dict]]:
    """Per flow, waiting vs working per activity over the cases started in the window, from the
    audit trail (not the tasks table: the trail keeps every claim and release)."""
    from sqlalchemy import select

    from engine.store.models import AuditEvent, Instance, Task

    conds = []
    if start is not None:
        conds.append(Instance.created_at >= start)
    if end is not None:
        conds.append(Instance.created_at < end)
    rows = session.execute(
        select(
            AuditEvent.instance_id,
            Instance.process_key,
            AuditEvent.at,
            AuditEvent.activity_id,
            AuditEvent.activity_name,
            AuditEvent.transition,
            Task.role,
            AuditEvent.task_id,
        )
        .join(Instance, Instance.id == AuditEvent.instance_id)
        # an event's own role is the actor's; the task's role (its lane) is on the task row
        .outerjoin(Task, Task.id == AuditEvent.task_id)
        .where(AuditEvent.transition.in_(TASK_TRANSITIONS), *conds)
        .order_by(AuditEvent.instance_id, AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    per_flow: dict[str, list[ActivityTimes]] = defaultdict(list)
    case, key, events = None, None, []
    for r in rows:
        if r.instance_id != case:
            if events:
                per_flow[key].extend(spans_from_events(events))
            case, key, events = r.instance_id, r.process_key, []
        events.append(
            {
                "transition": r.transition,
                "task_id": r.task_id,
                "activity_id": r.activity_id,
                "activity_name": r.activity_name,
                "role": r.role,
                "at": r.at,
            }
        )
    if events:
        per_flow[key].extend(spans_from_events(events))
    return {k: activity_figures(v) for k, v in per_flow.items()}
