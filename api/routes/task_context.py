"""What a person needs to recognise a task in a list beside the case labels (common.case_labels:
business key, enterprise or project, flow name): the enterprise as the inbox column shows it and
the claimant's display name. Read for a whole page in two statements."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from engine.store.models import Instance, User

_ENTERPRISE = aliased(User)
# the case's own name (the enterprise or project its flow names), else the enterprise user's
_CASES = (
    select(Instance.id, func.coalesce(Instance.display_name, _ENTERPRISE.enterprise_name, _ENTERPRISE.display_name))
    .join(_ENTERPRISE, _ENTERPRISE.id == Instance.enterprise_id)
    .where(Instance.id.in_(bindparam("ids", expanding=True)))
)
_NAMES = select(User.id, User.display_name).where(User.id.in_(bindparam("ids", expanding=True)))


def task_context(session, tasks: list) -> dict[str, dict]:
    """task id → {enterprise_name, assignee_name}."""
    iids = sorted({t.instance_id for t in tasks})
    uids = sorted({t.assignee_id for t in tasks if t.assignee_id})
    cases = dict(session.execute(_CASES, {"ids": iids}).all()) if iids else {}
    names = dict(session.execute(_NAMES, {"ids": uids}).all()) if uids else {}
    return {
        t.id: {
            "enterprise_name": cases.get(t.instance_id),
            "assignee_name": names.get(t.assignee_id) if t.assignee_id else None,
        }
        for t in tasks
    }
