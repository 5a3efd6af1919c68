"""Which cases an export holds (filters) and reading them in keyset-paged batches."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from engine import roles
from engine.store.case_filters import case_conditions
from engine.store.models import AuditEvent, Instance, ProcessVersionRow, User

CHINA = timezone(timedelta(hours=8))
FORMATS = ("json", "csv", "xes", "ocel")
MEDIA_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xes": "application/xml; charset=utf-8",
    "ocel": "application/json; charset=utf-8",
}
EXTENSIONS = {"json": "json", "csv": "csv", "xes": "xes", "ocel": "jsonocel"}
BATCH = 50

INSTANCE_LEVEL = {"instance_started", "instance_completed", "instance_terminated"}
_FIXED_LIFECYCLE = {
    "instance_started": "start",
    "scheduled": "schedule",
    "unclaim": "unknown",
    "complete": "complete",
    "cancel": "withdraw",
    "timer_armed": "schedule",
    "timer_fired": "complete",
    "timer_cancelled": "withdraw",
    "timer_recomputed": "unknown",
    "gateway": "complete",
    "script": "complete",
    "business_rule": "complete",
    "activity": "complete",
    "end": "complete",
    "instance_completed": "complete",
    "instance_terminated": "pi_abort",
}
TRACE_NAMESPACE = uuid.UUID("8d3c1f0e-5a4b-4c1e-9f55-7f1b2a6c0d51")


class FilterError(ValueError):
    pass


def parse_bound(value: str | None, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` is a China-time day (``to`` includes that whole day); a datetime without a
    zone is UTC. Returns an aware UTC datetime, exclusive when ``end``."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            d = date.fromisoformat(text)
            if end:
                d += timedelta(days=1)
            return datetime.combine(d, time(0), CHINA).astimezone(UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+") if "T" in text else text)
    except ValueError:
        raise FilterError(value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@dataclass
class TraceFilter:
    process_key: str | None = None
    start: datetime | None = None  # instances created at or after
    end: datetime | None = None  # instances created before
    status: str | None = None
    instance_ids: list[int] | None = None
    department: str | None = None  # cases holding a task of this department role
    overdue_at: datetime | None = None  # cases with an open task due before this instant

    def conditions(self, entity=Instance) -> list:
        """Conditions on ``entity``: ``Instance`` or an alias of it (the case list's row rules)."""
        conds = case_conditions(entity, self.department, self.overdue_at)
        if self.process_key:
            conds.append(entity.process_key == self.process_key)
        if self.status:
            conds.append(entity.status == self.status)
        if self.start is not None:
            conds.append(entity.created_at >= self.start)
        if self.end is not None:
            conds.append(entity.created_at < self.end)
        if self.instance_ids is not None:
            conds.append(entity.id.in_(self.instance_ids))
        return conds

    def as_dict(self) -> dict:
        return {
            "process_key": self.process_key,
            "from": utc_iso(self.start),
            "to": utc_iso(self.end),
            "status": self.status,
            "department": self.department,
            "overdue_at": utc_iso(self.overdue_at),
        }


@dataclass
class Case:
    id: int
    process_key: str
    process_name: str
    version: int
    business_key: str | None
    status: str
    starter: str | None
    enterprise: str | None
    enterprise_name: str | None
    created_at: datetime
    ended_at: datetime | None
    outcome_id: str | None
    outcome_name: str | None
    events: list[dict] = field(default_factory=list)


def count_cases(db, flt: TraceFilter, visible=None) -> int:
    conds = flt.conditions()
    if visible is not None and visible is not True:
        conds.append(visible)
    with db.read() as s:
        return s.scalar(select(func.count(Instance.id)).where(*conds)) or 0


def iter_cases(db, flt: TraceFilter, visible=None, batch: int | None = None) -> Iterator[Case]:
    """Cases with their events, oldest first, ``batch`` cases per short read transaction."""
    batch = batch or BATCH
    conds = flt.conditions()
    if visible is not None and visible is not True:
        conds.append(visible)
    last = 0
    while True:
        with db.read(snapshot=True) as s:
            rows = s.execute(
                select(
                    Instance.id,
                    Instance.process_key,
                    ProcessVersionRow.name,
                    ProcessVersionRow.version,
                    Instance.business_key,
                    Instance.status,
                    Instance.starter_id,
                    Instance.enterprise_id,
                    Instance.created_at,
                    Instance.ended_at,
                    Instance.outcome_id,
                    Instance.outcome_name,
                )
                .join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
                .where(Instance.id > last, *conds)
                .order_by(Instance.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            user_ids = {r.starter_id for r in rows} | {r.enterprise_id for r in rows}
            users = {
                u.id: u
                for u in s.execute(
                    select(User.id, User.username, User.display_name, User.enterprise_name).where(User.id.in_(user_ids))
                )
            }
            cases: dict[int, Case] = {}
            for r in rows:
                ent = users.get(r.enterprise_id)
                cases[r.id] = Case(
                    id=r.id,
                    process_key=r.process_key,
                    process_name=r.name,
                    version=r.version,
                    business_key=r.business_key,
                    status=r.status,
                    starter=users[r.starter_id].username if r.starter_id in users else None,
                    enterprise=ent.username if ent else None,
                    enterprise_name=(ent.enterprise_name or ent.display_name or ent.username) if ent else None,
                    created_at=r.created_at,
                    ended_at=r.ended_at,
                    outcome_id=r.outcome_id,
                    outcome_name=r.outcome_name,
                )
            events = s.execute(
                select(
                    AuditEvent.instance_id,
                    AuditEvent.seq,
                    AuditEvent.at,
                    AuditEvent.activity_id,
                    AuditEvent.activity_name,
                    AuditEvent.transition,
                    AuditEvent.actor,
                    AuditEvent.role,
                    AuditEvent.task_id,
                    AuditEvent.data,
                    AuditEvent.prev_hash,
                    AuditEvent.hash,
                )
                .where(AuditEvent.instance_id.in_(list(cases)))
                .order_by(AuditEvent.instance_id, AuditEvent.seq)
                .execution_options(yield_per=500)
            )
            for e in events:
                cases[e.instance_id].events.append(
                    {
                        "seq": e.seq,
                        "at": e.at,
                        "activity_id": e.activity_id,
                        "activity_name": e.activity_name,
                        "transition": e.transition,
                        "actor": e.actor,
                        "role": e.role,
                        "task_id": e.task_id,
                        "data": e.data or {},
                        "prev_hash": e.prev_hash,
                        "hash": e.hash,
                    }
                )
        for case in cases.values():
            annotate(case)
            yield case
        last = rows[-1].id
        if len(rows) < batch:
            return


def annotate(case: Case) -> None:
    """Add the XES lifecycle transition and the activity label to each event of a case."""
    claimed: set[str] = set()
    for ev in case.events:
        t = ev["transition"]
        if t == "claim":
            lc = "reassign" if ev["task_id"] in claimed else "assign"
            claimed.add(ev["task_id"])
        else:
            lc = _FIXED_LIFECYCLE.get(t, "unknown")
        ev["lifecycle"] = lc
        if t in INSTANCE_LEVEL:
            ev["activity"] = case.process_name
        else:
            ev["activity"] = ev["activity_name"] or ev["activity_id"] or t
        ev["role_name"] = roles.role_name(ev["role"]) if ev["role"] else None


def utc_iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def jsonable(value):
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
