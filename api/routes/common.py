"""Helpers shared by the blueprints: the caller, pagination and row → JSON."""
from __future__ import annotations

from datetime import datetime

from flask import g
from sqlalchemy import bindparam, func, select

from engine import roles

from ..app import service
from ..commands import Actor
from ..models import Task, User


def actor() -> Actor:
    return g.actor


# Lists count at most this many rows: an exact count of 100,000 open tasks costs more than the
# page itself. Beyond it the answer says `total_exact: false` and `total` is this cap.
COUNT_CAP = 10_000


def capped_count(session, ids_query, params: dict | None = None) -> tuple[int, bool]:
    """(count, exact) of the rows ``ids_query`` (a select of one id column) yields. The cap is
    a parameter (``cap``) of the statement, so a cached statement serves any cap."""
    n = session.scalar(select(func.count()).select_from(ids_query.limit(bindparam("cap")).subquery()),
                       dict(params or {}, cap=COUNT_CAP + 1))
    return (n, True) if n <= COUNT_CAP else (COUNT_CAP, False)


def paginate(session, query, page: int, per_page: int, count_query=None):
    total = session.scalar(count_query if count_query is not None
                           else select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


_USERNAMES = select(User.id, User.username).where(User.id.in_(bindparam("ids", expanding=True)))


def usernames(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(_USERNAMES, {"ids": sorted(ids)}).all())


def task_json(t: Task, names: dict[int, str], now) -> dict:
    return {
        "id": t.id, "name": t.name, "activity_id": t.activity_id, "role": t.role,
        "role_name": roles.role_name(t.role), "state": t.state,
        "assignee": names.get(t.assignee_id) if t.assignee_id else None,
        "process_instance_id": t.instance_id, "process_key": t.process_key, "due_at": t.due_at,
        "overdue": bool(t.due_at and t.state == "open" and t.due_at < now),
        "created_at": t.created_at, "claimed_at": t.claimed_at, "completed_at": t.completed_at,
        "completed_by": names.get(t.completed_by) if t.completed_by else None,
    }


def plain(row: dict) -> dict:
    """JSON-ready copy of a row: datetimes as ISO 8601, as the marshmallow schemas would write them."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


__all__ = ["plain", "capped_count", "actor", "paginate", "usernames", "task_json", "service"]
