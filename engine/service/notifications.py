"""In-app notifications: a new task, a deadline reminder, an overdue task, an escalation reach the
department (or the one person) concerned. Written by the command or the deadline watch that
causes them, in its transaction; read by ``GET /api/notifications``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.service.errors import NotFound
from engine.service.visibility import task_audiences
from engine.store.models import Notification, Task, task_audience

_INSERT = insert(Notification.__table__)

# kind → (Chinese title, English title), formatted with the task's name
TITLES = {
    "task_created": ("新待办：{name}", "New task: {name}"),
    "reminder": ("即将到期：{name}", "Due soon: {name}"),
    "overdue": ("已逾期：{name}", "Overdue: {name}"),
    "escalation": ("逾期督办：{name}", "Escalated, overdue: {name}"),
}


def for_task(kind: str, task: Task, at: datetime, audience: str | None = None, **data) -> dict:
    """A notification row about ``task`` for its own audience, or for ``audience``."""
    zh, en = TITLES[kind]
    body = {
        "activity_id": task.activity_id,
        "task_name": task.name,
        "role": task.role,
        "due_at": task.due_at.isoformat() if task.due_at else None,
    }
    body.update(data)
    return dict(
        audience=audience or task_audience(task.reserved_for_id, task.role),
        kind=kind,
        instance_id=task.instance_id,
        process_key=task.process_key,
        task_id=task.id,
        title=zh.format(name=task.name)[:300],
        title_en=en.format(name=task.name)[:300],
        data=body,
        created_at=at,
        read_at=None,
        read_by=None,
    )


def write(session: Session, rows: list[dict]) -> None:
    if rows:
        session.connection().execute(_INSERT, rows)


def _mine(actor):
    return Notification.audience.in_(task_audiences(actor))


def page(session: Session, actor, unread: bool, page_no: int, per_page: int) -> tuple[list[Notification], int]:
    """The caller's notifications, newest first, and how many there are."""
    from sqlalchemy import func

    conds = [_mine(actor)]
    if unread:
        conds.append(Notification.read_at.is_(None))
    rows = session.scalars(
        select(Notification)
        .where(*conds)
        .order_by(Notification.id.desc())
        .limit(per_page)
        .offset((page_no - 1) * per_page)
    ).all()
    total = session.scalar(select(func.count()).select_from(Notification).where(*conds))
    return rows, total


_MARK = (
    update(Notification.__table__)
    .where(and_(Notification.__table__.c.id == bindparam("nid"), Notification.__table__.c.read_at.is_(None)))
    .values(read_at=bindparam("at"), read_by=bindparam("uid"))
)


def mark_read(service, actor, notification_id: int) -> Notification:
    """Mark one of the caller's notifications read (again: no change). Others' answer 404."""
    with service.db.write() as s:
        row = s.scalar(select(Notification).where(Notification.id == notification_id, _mine(actor)))
        if row is None:
            raise NotFound("通知不存在", "no such notification")
        if row.read_at is None:
            s.connection().execute(_MARK, {"nid": row.id, "at": service.now(), "uid": actor.id})
            s.expire(row)
            s.refresh(row)
        s.expunge(row)
        return row
