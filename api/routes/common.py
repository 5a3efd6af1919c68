"""Helpers shared by the blueprints: the caller, pagination and row → JSON."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import g
from sqlalchemy import bindparam, func, select

from api.app import service
from engine import roles
from engine.service.actor import Actor
from engine.store.models import Task, User


def actor() -> Actor:
    return g.actor


# Lists count at most this many rows: an exact count of 100,000 open tasks costs more than the
# page itself. Beyond it the answer says `total_exact: false` and `total` is this cap.
COUNT_CAP = 10_000


def capped_count(session, ids_query, params: dict | None = None) -> tuple[int, bool]:
    """(count, exact) of the rows ``ids_query`` (a select of one id column) yields. The cap is
    a parameter (``cap``) of the statement, so a cached statement serves any cap."""
    n = session.scalar(
        select(func.count()).select_from(ids_query.limit(bindparam("cap")).subquery()),
        dict(params or {}, cap=COUNT_CAP + 1),
    )
    return (n, True) if n <= COUNT_CAP else (COUNT_CAP, False)


def page_total(
    session, n_on_page: int, offset: int, per_page: int, ids_query, params: dict | None = None
) -> tuple[int, bool]:
    """(total, exact) of a list whose page held ``n_on_page`` rows. A page that is not full, and
    not past the end, already tells the total; only a full or empty page runs the capped count
    (one statement fewer for nearly every inbox read, and the total then comes from the same
    snapshot as the page)."""
    if _ends_list(n_on_page, offset, per_page):
        return offset + n_on_page, True
    return capped_count(session, ids_query, params)


def _ends_list(n_on_page: int, offset: int, per_page: int) -> bool:
    return n_on_page < per_page and (n_on_page > 0 or offset == 0)


def page_of_few(rows, key, offset: int, per_page: int) -> tuple[list, int]:
    """(page, total) of rows read whole, unordered, through a narrow index (one case's tasks or
    timers). Asked to ORDER BY as well, SQLite's planner prefers an index that yields the order
    and walks every open task or waiting timer of the database to find the case's few."""
    rows = sorted(rows, key=key)
    return rows[offset : offset + per_page], len(rows)


def paginate(session, query, page: int, per_page: int, count_query=None):
    offset = (page - 1) * per_page
    rows = session.execute(query.limit(per_page).offset(offset)).all()
    if _ends_list(len(rows), offset, per_page):
        return rows, offset + len(rows)
    total = session.scalar(
        count_query if count_query is not None else select(func.count()).select_from(query.order_by(None).subquery())
    )
    return rows, total


_USERNAMES = select(User.id, User.username).where(User.id.in_(bindparam("ids", expanding=True)))


def usernames(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(_USERNAMES, {"ids": sorted(ids)}).all())


DEADLINE_NAMES = {
    "none": "无时限",
    "on_track": "未到期",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "completed_on_time": "按时办结",
    "completed_late": "逾期办结",
}


def deadline_status(t: Task, now) -> str:
    """Where a task stands against its due time (即将到期 from its reminder time, or within a
    day of the due time when the diagram's timer gives it)."""
    if t.due_at is None:
        return "none"
    if t.state != "open":
        return "completed_late" if t.completed_at and t.completed_at > t.due_at else "completed_on_time"
    if t.due_at < now:
        return "overdue"
    soon = t.remind_at if t.remind_at is not None else t.due_at - timedelta(days=1)
    return "due_soon" if now >= soon else "on_track"


def task_json(t: Task, names: dict[int, str], now, case: dict | None = None) -> dict:
    status = deadline_status(t, now)
    body = {
        "id": t.id,
        "name": t.name,
        "activity_id": t.activity_id,
        "role": t.role,
        "role_name": roles.role_name(t.role),
        "state": t.state,
        "assignee": names.get(t.assignee_id) if t.assignee_id else None,
        "process_instance_id": t.instance_id,
        "process_key": t.process_key,
        "due_at": t.due_at,
        "overdue": bool(t.due_at and t.state == "open" and t.due_at < now),
        "deadline_status": status,
        "deadline_status_name": DEADLINE_NAMES[status],
        "remind_at": t.remind_at,
        "escalated_at": t.escalated_at,
        "created_at": t.created_at,
        "claimed_at": t.claimed_at,
        "completed_at": t.completed_at,
        "completed_by": names.get(t.completed_by) if t.completed_by else None,
    }
    if case is not None:
        body.update(case)
    return body


def plain(row: dict) -> dict:
    """JSON-ready copy of a row: datetimes as ISO 8601, as the marshmallow schemas would write them."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


__all__ = [
    "plain",
    "capped_count",
    "page_total",
    "page_of_few",
    "actor",
    "paginate",
    "usernames",
    "task_json",
    "service",
    "deadline_status",
]
