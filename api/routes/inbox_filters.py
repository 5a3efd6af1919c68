"""The inbox's search, filters and sort orders beyond the plain "my open tasks by due time": by
business key or enterprise name, by flow, by due window (overdue / due soon / later / none), by
claimant (me / nobody), newest or latest-due first. A plain statement with the caller's row rule;
the indexed fast path in tasks.py stays for the default inbox, which is what nearly every read is.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, func, or_, select, true

from engine.service.visibility import task_filter
from engine.store.models import Instance, Task, User

# 即将到期: due within this window from now (and not yet overdue).
# 即将到期: from the task's reminder time, or within a day of a due time a diagram's timer gives
# (the same rule as common.deadline_status)
DUE_SOON = timedelta(days=1)

SORTS = {
    "due": (Task.sort_due, Task.created_at, Task.id),
    "-due": (Task.sort_due.desc(), Task.created_at.desc(), Task.id.desc()),
    "created": (Task.created_at, Task.id),
    "-created": (Task.created_at.desc(), Task.id.desc()),
}

FILTER_KEYS = ("q", "process_key", "due", "sort")


def wants_filters(query: dict) -> bool:
    return any(query.get(k) for k in FILTER_KEYS) or query.get("assignee") == "none"


def _soon_from(now):
    return or_(
        and_(Task.remind_at.is_not(None), Task.remind_at <= now),
        and_(Task.remind_at.is_(None), Task.due_at < now + DUE_SOON),
    )


def filtered_tasks_query(me, query: dict, now):
    """A select of the Task rows the caller sees that match the query, in its sort order."""
    rule = task_filter(me)
    conds = [true() if rule is True else rule]
    if query["state"] != "all":
        conds.append(Task.state == query["state"])
    if query.get("role"):
        conds.append(Task.role == query["role"])
    if query.get("process_instance_id"):
        conds.append(Task.instance_id == query["process_instance_id"])
    if query.get("process_key"):
        conds.append(Task.process_key == query["process_key"])
    assignee = query.get("assignee")
    if assignee == "me":
        conds.append(Task.assignee_id == me.id)
    elif assignee == "none":
        conds.append(Task.assignee_id.is_(None))
    due = query.get("due")
    if due is None and query.get("overdue") is not None:  # the older boolean filter
        due = "overdue" if query["overdue"] else "not_overdue"
    if due == "not_overdue":
        conds.append(Task.due_at.is_(None) | (Task.due_at >= now))
    elif due == "overdue":
        conds += [Task.due_at.is_not(None), Task.due_at < now]
    elif due == "soon":
        conds += [Task.due_at >= now, _soon_from(now)]
    elif due == "later":
        conds += [Task.due_at >= now, ~_soon_from(now)]
    elif due == "none":
        conds.append(Task.due_at.is_(None))
    q = (query.get("q") or "").strip()
    if q:
        ent = User
        conds.append(
            exists().where(
                Instance.id == Task.instance_id,
                or_(
                    Instance.business_key.icontains(q, autoescape=True),
                    exists().where(
                        ent.id == Instance.enterprise_id,
                        func.coalesce(ent.enterprise_name, ent.display_name).icontains(q, autoescape=True),
                    ),
                    Instance.display_name.icontains(q, autoescape=True),
                ),
            )
        )
    return select(Task).where(*conds).order_by(*SORTS[query.get("sort") or "due"])
