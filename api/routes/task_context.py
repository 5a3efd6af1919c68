"""What a person needs to recognise a task in a list, beside the task row itself: the case's
business key and enterprise, the flow's Chinese name, and the claimant's display name. Read for
a whole page in two statements. (Kept apart from common.task_json so the task JSON's own fields
and this context can change independently.)"""
from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from engine.store.models import Instance, ProcessVersionRow, Task, User

_ENTERPRISE = aliased(User)
_CASES = (select(Instance.id, Instance.business_key, ProcessVersionRow.name,
                 func.coalesce(_ENTERPRISE.enterprise_name, _ENTERPRISE.display_name))
          .join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
          .join(_ENTERPRISE, _ENTERPRISE.id == Instance.enterprise_id)
          .where(Instance.id.in_(bindparam("ids", expanding=True))))
_NAMES = select(User.id, User.display_name).where(User.id.in_(bindparam("ids", expanding=True)))


def task_context(session, tasks: list[Task]) -> dict[str, dict]:
    """task id → {business_key, enterprise_name, process_name, assignee_name}."""
    iids = sorted({t.instance_id for t in tasks})
    uids = sorted({t.assignee_id for t in tasks if t.assignee_id})
    cases = {r[0]: r[1:] for r in session.execute(_CASES, {"ids": iids}).all()} if iids else {}
    names = dict(session.execute(_NAMES, {"ids": uids}).all()) if uids else {}
    out = {}
    for t in tasks:
        bk, pname, ent = cases.get(t.instance_id, (None, None, None))
        out[t.id] = {"business_key": bk, "process_name": pname, "enterprise_name": ent,
                     "assignee_name": names.get(t.assignee_id) if t.assignee_id else None}
    return out
