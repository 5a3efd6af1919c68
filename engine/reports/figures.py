"""Supervision reports (督导检查) and the work ledger (工作台账).

Everything here is read from the indexed ``tasks``, ``process_instances``, ``timers`` and
``audit_events`` tables; no engine state is loaded or replayed.

Definitions (all times UTC; a window ``[from, to)`` selects by the time a thing happened):

* a task is *completed on time* when it has a deadline and ``completed_at <= due_at``,
  *overdue* when ``completed_at > due_at`` (it was finished after its deadline, e.g. while the
  deadline's timer was still pending), and *no deadline* (无时限) when it had none: a step
  without a clock is never counted on time;
* *escalated*: tasks the deadline watch escalated to the leading-group office (finished in the
  window, or open now);
* a task *expired* when its deadline passed before anyone finished it: it was cancelled (by its
  deadline's interrupting timer, or because the case moved on) at or after ``due_at``;
* *currently open* and *open and overdue* (``due_at < now``) describe the present, whatever the
  window;
* handling time runs from the claim (when the task was claimed before it was completed) or else
  from the task's creation, to its completion;
* medians and 90th percentiles interpolate linearly between the nearest ranks
  (PostgreSQL's ``percentile_cont``);
* lead time runs from a case's start to its end; rework rounds count, per case, the repeated
  completions of the same user task (a task done three times is two rounds).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine import roles
from engine.reports.lead_time import observed_activities, percentile
from engine.store.models import AuditEvent, Instance, ProcessVersionRow, Task, User
from engine.worktime import WorkingTime


# ----------------------------------------------------------------------------- helpers
def _stats(seconds: list[float], workdays: list[float] | None = None) -> dict:
    med, p90 = percentile(seconds, 0.5), percentile(seconds, 0.9)
    out = {
        "count": len(seconds),
        "seconds": {"median": med, "p90": p90},
        "hours": {
            "median": None if med is None else round(med / 3600, 2),
            "p90": None if p90 is None else round(p90 / 3600, 2),
        },
    }
    if workdays is not None:  # working days within office hours (engine/worktime.py)
        wmed, wp90 = percentile(workdays, 0.5), percentile(workdays, 0.9)
        out["workdays"] = {
            "median": None if wmed is None else round(wmed, 3),
            "p90": None if wp90 is None else round(wp90, 3),
        }
    return out


def _aware(dt: datetime) -> datetime:
    """SQLite gives the stored UTC times back naive."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def process_names(session: Session) -> dict[str, str]:
    names = {}
    for key, name in session.execute(
        select(ProcessVersionRow.key, ProcessVersionRow.name).order_by(ProcessVersionRow.key, ProcessVersionRow.version)
    ):
        names[key] = name
    return names


def _window(col, start: datetime | None, end: datetime | None) -> list:
    conds = []
    if start is not None:
        conds.append(col >= start)
    if end is not None:
        conds.append(col < end)
    return conds


def _is_department(code: str) -> bool:
    role = roles.BY_CODE.get(code)
    return bool(role and role.department)


# ----------------------------------------------------------------------------- departments
def _empty_counts() -> dict:
    return {
        "completed": 0,
        "on_time": 0,
        "overdue": 0,
        "no_deadline": 0,
        "expired": 0,
        "open": 0,
        "open_overdue": 0,
        "open_no_deadline": 0,
        "escalated": 0,
    }


def departments_report(
    session: Session,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    process_key: str | None = None,
) -> dict:
    """Per department (task role) and per flow: completed, on time, overdue, without a deadline,
    expired, escalated, currently open, open and overdue, open without a deadline, median and p90
    handling time. ``process_key``: one flow only."""
    flow_only = [Task.process_key == process_key] if process_key else []
    counts: dict[tuple[str, str], dict] = defaultdict(_empty_counts)
    handling: dict[tuple[str, str], list[float]] = defaultdict(list)

    finished = session.execute(
        select(
            Task.role,
            Task.process_key,
            Task.state,
            Task.created_at,
            Task.claimed_at,
            Task.completed_at,
            Task.due_at,
            Task.escalated_at,
        )
        .where(
            Task.state.in_(("completed", "cancelled")),
            Task.completed_at.is_not(None),
            *_window(Task.completed_at, start, end),
            *flow_only,
        )
        .execution_options(yield_per=1000)
    )
    for role, key, state, created, claimed, completed, due, escalated in finished:
        c = counts[(role, key)]
        if escalated is not None:
            c["escalated"] += 1
        if state == "completed":
            c["completed"] += 1
            if due is None:
                c["no_deadline"] += 1
            elif completed > due:
                c["overdue"] += 1
            else:
                c["on_time"] += 1
            begin = claimed if claimed is not None and claimed < completed else created
            handling[(role, key)].append((completed - begin).total_seconds())
        elif due is not None and completed >= due:
            c["expired"] += 1

    open_rows = session.execute(
        select(
            Task.role,
            Task.process_key,
            func.count(),  # count(*): ix_tasks_state_role alone answers
            func.count().filter(and_(Task.due_at.is_not(None), Task.due_at < now)),
            func.count().filter(Task.due_at.is_(None)),
        )
        .where(Task.state == "open", *flow_only)
        .group_by(Task.role, Task.process_key)
    )
    for role, key, n, late, undated in open_rows:
        c = counts[(role, key)]
        c["open"] += n
        c["open_overdue"] += late
        c["open_no_deadline"] += undated
    escalated_open = session.execute(
        select(Task.role, Task.process_key, func.count())
        .where(Task.state == "open", Task.escalated_at.is_not(None), *flow_only)
        .group_by(Task.role, Task.process_key)
    )
    for role, key, n in escalated_open:
        counts[(role, key)]["escalated"] += n

    names = process_names(session)
    items = []
    by_role: dict[str, dict] = {}
    role_handling: dict[str, list[float]] = defaultdict(list)
    for role, key in sorted(counts):
        c = counts[(role, key)]
        h = handling[(role, key)]
        items.append(
            {
                "role": role,
                "role_name": roles.role_name(role),
                "department": _is_department(role),
                "process_key": key,
                "process_name": names.get(key, key),
                **c,
                "handling": _stats(h),
            }
        )
        total = by_role.setdefault(role, _empty_counts())
        for k, v in c.items():
            total[k] += v
        role_handling[role].extend(h)
    departments = [
        {
            "role": role,
            "role_name": roles.role_name(role),
            "department": _is_department(role),
            **total,
            "handling": _stats(role_handling[role]),
        }
        for role, total in by_role.items()
    ]
    return {
        "from": _iso(start),
        "to": _iso(end),
        "now": _iso(now),
        "process_key": process_key,
        "items": items,
        "departments": departments,
    }


# ----------------------------------------------------------------------------- flows
def flows_report(
    session: Session,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    process_key: str | None = None,
    worktime: WorkingTime | None = None,
) -> dict:
    """Per flow, over the cases started in the window: started, running, finished by outcome,
    median and p90 lead time, rework rounds, and per activity waiting vs working hours
    (engine/reports/lead_time.py, the simulator's definitions). ``process_key``: one flow only.
    With ``worktime`` the lead time is also given in working days of its office hours, as the
    simulator gives it."""
    flow_only = [Instance.process_key == process_key] if process_key else []
    per: dict[str, dict] = {}
    leads: dict[str, list[float]] = defaultdict(list)
    lead_days: dict[str, list[float]] = defaultdict(list)

    def flow(key):
        return per.setdefault(
            key,
            {
                "started": 0,
                "running": 0,
                "completed": 0,
                "terminated": 0,
                "outcomes": {},
                "rework_rounds": 0,
                "cases_with_rework": 0,
            },
        )

    rows = session.execute(
        select(
            Instance.process_key,
            Instance.status,
            Instance.outcome_id,
            Instance.outcome_name,
            Instance.created_at,
            Instance.ended_at,
        )
        .where(*_window(Instance.created_at, start, end), *flow_only)
        .execution_options(yield_per=1000)
    )
    for key, status, outcome_id, outcome_name, created, ended in rows:
        f = flow(key)
        f["started"] += 1
        if status == "running":
            f["running"] += 1
            continue
        f[status] = f.get(status, 0) + 1
        label = outcome_id or status
        o = f["outcomes"].setdefault(label, {"id": outcome_id, "name": outcome_name, "count": 0})
        o["count"] += 1
        if ended is not None:
            leads[key].append((ended - created).total_seconds())
            if worktime is not None:
                lead_days[key].append(worktime.working_days(_aware(created).timestamp(), _aware(ended).timestamp()))

    repeats = (
        select(Instance.process_key, Task.instance_id, Task.activity_id, func.count(Task.id).label("n"))
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.state == "completed", *_window(Instance.created_at, start, end), *flow_only)
        .group_by(Instance.process_key, Task.instance_id, Task.activity_id)
        .having(func.count(Task.id) > 1)
    )
    cases_with_rework: dict[str, set[int]] = defaultdict(set)
    for key, instance_id, _activity, n in session.execute(repeats):
        flow(key)["rework_rounds"] += n - 1
        cases_with_rework[key].add(instance_id)

    activities = observed_activities(session, start, end)
    names = process_names(session)
    items = []
    for key in sorted(per):
        f = per[key]
        f["cases_with_rework"] = len(cases_with_rework[key])
        items.append(
            {
                "process_key": key,
                "process_name": names.get(key, key),
                **f,
                "outcomes": sorted(f["outcomes"].values(), key=lambda o: (-o["count"], str(o["id"]))),
                "rework_rounds_per_case": round(f["rework_rounds"] / f["started"], 3) if f["started"] else None,
                "lead_time": _stats(leads[key], lead_days[key] if worktime is not None else None),
                "activities": activities.get(key, []),
            }
        )
    return {"from": _iso(start), "to": _iso(end), "now": _iso(now), "process_key": process_key, "items": items}


# ----------------------------------------------------------------------------- ledger
NUMBER_KEYS = ("problem_number", "problem_no", "problem_code", "register_number", "registration_number")
ENTERPRISE_KEYS = ("enterprise_name", "company_name")
UNIT_KEYS = ("handling_unit", "handling_units", "handling_department", "assigned_unit")
PERSON_KEYS = ("responsible_person", "responsible", "person_in_charge", "handler_name", "handler")
LIMIT_KEYS = ("due_date", "time_limit", "deadline")
SUMMARY_KEYS = ("problem_title", "problem_summary", "problem_description", "description")
STATUS_NAMES = {"running": "办理中", "completed": "已办结", "terminated": "已终止"}


def _first(data: dict, keys) -> Any:
    for k in keys:
        v = data.get(k)
        if v not in (None, "", [], {}):
            return v
    return None


def _parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _unit(value) -> list[dict] | None:
    if value is None:
        return None
    codes = value if isinstance(value, list) else [value]
    return [{"code": str(c), "name": roles.role_name(str(c))} for c in codes if c not in (None, "")]


def case_data(session: Session, instance_ids: list[int]) -> dict[int, dict]:
    """The data each case has gathered, merged in order from its audit events: the start
    variables, every submitted form, every script and business-rule result."""
    merged: dict[int, dict] = {i: {} for i in instance_ids}
    if not instance_ids:
        return merged
    rows = session.execute(
        select(AuditEvent.instance_id, AuditEvent.transition, AuditEvent.data)
        .where(
            AuditEvent.instance_id.in_(instance_ids),
            AuditEvent.transition.in_(("instance_started", "complete", "script", "business_rule")),
        )
        .order_by(AuditEvent.instance_id, AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    for iid, transition, data in rows:
        data = data or {}
        part = {"instance_started": data.get("variables"), "complete": data.get("data")}.get(
            transition, data.get("result")
        )
        if isinstance(part, dict):
            merged[iid].update(part)
    return merged


def ledger_report(
    session: Session,
    now: datetime,
    process_key: str = "enterprise_call",
    page: int = 1,
    per_page: int = 100,
    status: str | None = None,
) -> dict:
    """The problem register: number, enterprise, handling unit, responsible person, time limit,
    status and whether it was closed on time. Missing fields (a diagram or form without them)
    answer null."""
    conds = [Instance.process_key == process_key]
    if status:
        conds.append(Instance.status == status)
    total = session.scalar(select(func.count(Instance.id)).where(*conds)) or 0
    insts = session.scalars(
        select(Instance).where(*conds).order_by(Instance.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    ids = [i.id for i in insts]
    data = case_data(session, ids)
    users = {}
    if insts:
        users = {
            u.id: u
            for u in session.scalars(
                select(User).where(User.id.in_({i.enterprise_id for i in insts} | {i.starter_id for i in insts}))
            )
        }
    tasks: dict[int, list[Task]] = defaultdict(list)
    if ids:
        for t in session.scalars(select(Task).where(Task.instance_id.in_(ids)).order_by(Task.created_at, Task.id)):
            tasks[t.instance_id].append(t)
    names = process_names(session)

    items = []
    for inst in insts:
        d = data.get(inst.id, {})
        ent = users.get(inst.enterprise_id)
        open_tasks = [t for t in tasks[inst.id] if t.state == "open"]
        limit = _parse_time(_first(d, LIMIT_KEYS))
        if limit is None:
            # the problem's limit as the diagram clocks it (a task's timer), not a step's own
            # working-day deadline from the settings (those are watched: watch_at)
            clocked = [t for t in tasks[inst.id] if t.due_at and t.watch_at is None and t.escalated_at is None]
            dues = [t.due_at for t in clocked if t.state == "open"] or [t.due_at for t in clocked]
            limit = min(dues) if open_tasks and dues else (max(dues) if dues else None)
        extensions = d.get("extension_count") if isinstance(d.get("extension_count"), int) else None
        closed_on_time = d.get("closed_on_time") if isinstance(d.get("closed_on_time"), bool) else None
        if closed_on_time is None and inst.status != "running" and limit is not None and inst.ended_at:
            closed_on_time = inst.ended_at <= limit and not extensions
        responsible = _first(d, PERSON_KEYS)
        summary = _first(d, SUMMARY_KEYS)
        items.append(
            {
                "process_instance_id": inst.id,
                "number": str(_first(d, NUMBER_KEYS) or inst.business_key or inst.id),
                "business_key": inst.business_key,
                "enterprise": _first(d, ENTERPRISE_KEYS)
                or ((ent.enterprise_name or ent.display_name or ent.username) if ent else None),
                "enterprise_user": ent.username if ent else None,
                "summary": str(summary)[:200] if summary is not None else None,
                "handling_unit": _unit(_first(d, UNIT_KEYS)),
                "responsible_person": responsible
                if isinstance(responsible, (str, int))
                else (str(responsible) if responsible is not None else None),
                "time_limit": _iso(limit),
                "limit_workdays": d.get("limit_workdays")
                if isinstance(d.get("limit_workdays"), (int, float))
                else None,
                "extension_count": extensions,
                "status": inst.status,
                "status_name": (
                    inst.outcome_name
                    if inst.status == "completed" and inst.outcome_name
                    else STATUS_NAMES.get(inst.status, inst.status)
                ),
                "current_activities": [
                    {"id": t.activity_id, "name": t.name, "role": t.role, "role_name": roles.role_name(t.role)}
                    for t in open_tasks
                ],
                "overdue_now": bool(inst.status == "running" and limit is not None and limit < now),
                "registered_at": _iso(_parse_time(d.get("registered_at")) or inst.created_at),
                "closed_at": _iso(inst.ended_at),
                "outcome": {"id": inst.outcome_id, "name": inst.outcome_name} if inst.outcome_id else None,
                "closed_on_time": closed_on_time,
            }
        )
    return {
        "process_key": process_key,
        "process_name": names.get(process_key, process_key),
        "now": _iso(now),
        "page": page,
        "per_page": per_page,
        "total": total,
        "items": items,
    }


__all__ = ["percentile", "departments_report", "flows_report", "ledger_report", "case_data"]
