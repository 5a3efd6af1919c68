"""What a person needs to recognise a task in a list: the case's labels (business key, enterprise
or project, the flow's Chinese name), the enterprise as the inbox column shows it, and the
usernames and display names of the claimant and the completer. Read for a whole page in two
statements, one over the cases and one over the people: the inbox is the most read page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from engine.store.models import Instance, ProcessVersionRow, User

_ENTERPRISE = aliased(User)
_CASES = (
    select(
        Instance.id,
        Instance.business_key,
        Instance.display_name,
        ProcessVersionRow.name,
        # the case's own name (the enterprise or project its flow names), else the enterprise user's
        func.coalesce(Instance.display_name, _ENTERPRISE.enterprise_name, _ENTERPRISE.display_name),
    )
    .join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
    .outerjoin(_ENTERPRISE, _ENTERPRISE.id == Instance.enterprise_id)
    .where(Instance.id.in_(bindparam("ids", expanding=True)))
)
_PEOPLE = select(User.id, User.username, User.display_name).where(User.id.in_(bindparam("ids", expanding=True)))


@dataclass
class PageContext:
    usernames: dict[int, str]  # user id → username (task_json's assignee and completed_by)
    labels: dict[int, dict]  # instance id → business_key, display_name, process_name
    per_task: dict[str, dict]  # task id → enterprise_name, assignee_name


def page_context(session, tasks: list) -> PageContext:
    iids = sorted({t.instance_id for t in tasks if t.instance_id is not None})
    uids = sorted({u for t in tasks for u in (t.assignee_id, t.completed_by) if u})
    labels, enterprise = {}, {}
    for iid, bk, dn, pn, ent in session.execute(_CASES, {"ids": iids}) if iids else ():
        labels[iid] = {"business_key": bk, "display_name": dn, "process_name": pn}
        if ent is not None:
            enterprise[iid] = ent
    usernames, display = {}, {}
    for uid, username, name in session.execute(_PEOPLE, {"ids": uids}) if uids else ():
        usernames[uid], display[uid] = username, name
    per_task = {
        t.id: {
            "enterprise_name": enterprise.get(t.instance_id),
            "assignee_name": display.get(t.assignee_id) if t.assignee_id else None,
        }
        for t in tasks
    }
    return PageContext(usernames, labels, per_task)
