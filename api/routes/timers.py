from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select

from api.blueprint import Blueprint
from api.routes.common import page_of_few, paginate, service
from api.schemas import TimerPageSchema, TimerQuery
from engine.store.models import Instance, Timer

blp = Blueprint(
    "timers", __name__, url_prefix="/api/timers", description="定时器（法定期限）/ timers (legal deadlines)"
)


@blp.route("")
@blp.arguments(TimerQuery, location="query")
@blp.response(200, TimerPageSchema)
def list_timers(query):
    """定时器列表，按到期时间 / Timers by due time: `?due_before=&process_instance_id=&status=`.

    `provisional: true` marks a working-day deadline computed without the holiday calendar of its
    year (weekends only); it is recomputed when an admin loads that year."""
    conds = []
    if query.get("due_before"):
        due = query["due_before"]
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        conds.append(Timer.due_at < due)
    if query.get("process_instance_id"):
        conds.append(Timer.instance_id == query["process_instance_id"])
    if query.get("status"):
        conds.append(Timer.status == query["status"])
    svc = service()
    q = select(Timer, Instance.version_id).join(Instance, Instance.id == Timer.instance_id).where(*conds)
    with svc.db.read() as s:
        if query.get("process_instance_id"):
            rows, total = page_of_few(
                s.execute(q).all(),
                lambda r: (r[0].due_at, r[0].id),
                (query["page"] - 1) * query["per_page"],
                query["per_page"],
            )
        else:
            rows, total = paginate(
                s,
                q.order_by(Timer.due_at, Timer.id),
                query["page"],
                query["per_page"],
                select(func.count(Timer.id)).where(*conds),
            )
        items = []
        for t, version_id in rows:
            pv = svc.version(s, version_id)
            items.append(
                {
                    "id": t.id,
                    "process_instance_id": t.instance_id,
                    "activity_id": t.activity_id,
                    "activity_name": pv.element_name(t.activity_id),
                    "task_id": t.task_id,
                    "due_at": t.due_at,
                    "status": t.status,
                    "provisional": t.provisional,
                    "fired_at": t.fired_at,
                }
            )
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}
