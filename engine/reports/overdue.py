"""The overdue list for supervision (督办): every open task whose deadline has passed, across
departments, most overdue first, with its case's business key and enterprise. The same rule as
``open_overdue`` of the departments report (``due_at < now``), so the list's length is that figure's
sum."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from engine import roles
from engine.reports.figures import _iso, process_names
from engine.store.models import Instance, Task, User


def overdue_tasks(
    session: Session, now: datetime, process_key: str | None, role: str | None, page: int, per_page: int
) -> dict:
    conds = [Task.state == "open", Task.due_at.is_not(None), Task.due_at < now]
    if process_key:
        conds.append(Task.process_key == process_key)
    if role:
        conds.append(Task.role == role)
    assignee = aliased(User)
    rows = session.execute(
        select(
            Task.id,
            Task.instance_id,
            Task.process_key,
            Task.activity_id,
            Task.name,
            Task.role,
            Task.due_at,
            Task.escalated_at,
            Task.created_at,
            Instance.business_key,
            Instance.display_name,
            assignee.username,
            assignee.display_name,
        )
        .join(Instance, Instance.id == Task.instance_id)
        .outerjoin(assignee, and_(assignee.id == Task.assignee_id))
        .where(*conds)
        .order_by(Task.due_at, Task.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    total = session.scalar(select(func.count()).select_from(Task).where(*conds))
    names = process_names(session)
    items = [
        {
            "task_id": r[0],
            "process_instance_id": r[1],
            "process_key": r[2],
            "process_name": names.get(r[2], r[2]),
            "activity_id": r[3],
            "name": r[4],
            "role": r[5],
            "role_name": roles.role_name(r[5]),
            "due_at": _iso(r[6]),
            "overdue_hours": round((now - r[6]).total_seconds() / 3600, 1),
            "escalated_at": _iso(r[7]),
            "created_at": _iso(r[8]),
            "business_key": r[9],
            "display_name": r[10],
            "assignee": r[11],
            "assignee_name": (r[12] or r[11]) if r[11] else None,
        }
        for r in rows
    ]
    return {
        "now": _iso(now),
        "process_key": process_key,
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
    }
