"""Case filters a supervisor or auditor narrows a case list or an export by, beyond the case's own
columns: the department that handled it and whether it is overdue now. Written once for both the
case list (GET /api/process-instances) and the trace export (GET /api/traces), so a list and the
export of "the same filters" hold the same cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.store.models import Task


def case_conditions(entity, department: str | None = None, overdue_at: datetime | None = None) -> list:
    """Conditions on ``entity`` (``Instance`` or an alias of it).

    ``department``: the case holds a task of that department role (open or done).
    ``overdue_at``: the case has an open task whose due time passed before this instant; with a
    department, a task of that department (its overdue cases, not other departments')."""
    conds = []
    if overdue_at is not None:
        late = select(Task.instance_id).where(Task.state == "open", Task.due_at < overdue_at)
        if department:
            late = late.where(Task.role == department)
        conds.append(entity.id.in_(late))
    elif department:
        conds.append(entity.id.in_(select(Task.instance_id).where(Task.role == department)))
    return conds
