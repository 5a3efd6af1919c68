"""In-app notifications of the caller's departments and of the caller: new tasks, deadline
reminders, overdue tasks, escalations (engine/service/notifications.py)."""

from __future__ import annotations

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas import NotificationPageSchema, NotificationQuery, NotificationSchema
from engine.service import notifications

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/notifications",
    description="站内通知：新待办、到期提醒、逾期、督办 / notifications: new tasks, reminders, "
    "overdue tasks, escalations",
)


def _json(n) -> dict:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "title_en": n.title_en,
        "process_instance_id": n.instance_id,
        "process_key": n.process_key,
        "task_id": n.task_id,
        "data": n.data,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "read": n.read_at is not None,
    }


@blp.route("")
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(query):
    """我的通知（本人及本部门），最新在前；`?unread=true` 只列未读 / The caller's and its
    departments' notifications, newest first; `?unread=true` for unread ones only."""
    svc = service()
    me = actor()
    with svc.db.read() as s:
        rows, total = notifications.page(s, me, query["unread"], query["page"], query["per_page"])
        unread = total if query["unread"] else notifications.page(s, me, True, 1, 1)[1]
    return {
        "items": [_json(n) for n in rows],
        "page": query["page"],
        "per_page": query["per_page"],
        "total": total,
        "unread": unread,
    }


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    """标记已读（部门通知对本部门所有人已读）/ Mark read (a department's notification for all its
    members)."""
    return _json(notifications.mark_read(service(), actor(), notification_id))
