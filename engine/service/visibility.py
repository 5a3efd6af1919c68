"""Row visibility: whose tasks and whose cases a caller sees. Every query that lists or fetches
tasks or cases applies these rules; a row a caller may not see is answered as if it did not exist."""

from __future__ import annotations

import functools

from sqlalchemy import select, union
from sqlalchemy.orm import Session, aliased

from engine.roles import DEPARTMENT_ROLES, TASK_ROLES
from engine.store.models import Instance, Pairing, Task, task_audience


def task_audiences(actor) -> list[str]:
    """The ``tasks.audience`` values whose tasks a caller sees: tasks reserved for the caller and
    the unreserved tasks of the caller's roles."""
    return [task_audience(actor.id, "")] + [task_audience(None, r) for r in sorted(actor.roles & TASK_ROLES)]


def task_filter(actor):
    """SQL condition for the tasks a caller sees (one indexed column)."""
    if actor.reads_all:
        return True
    return Task.audience.in_(task_audiences(actor))


def can_see_task(session: Session, actor, task: Task) -> bool:
    if actor.reads_all:
        return True
    if task.reserved_for_id == actor.id or task.assignee_id == actor.id or task.completed_by == actor.id:
        return True
    return task.reserved_for_id is None and task.role in actor.roles


def can_act_on_task(actor, task: Task) -> bool:
    if task.reserved_for_id is not None:
        return task.reserved_for_id == actor.id
    return task.role in actor.roles


# Offices that supervise every case (督导检查) see every case and its trace, like auditors; their
# inbox still holds only their own tasks.
SUPERVISORS = frozenset({"leading_group_office"})


def sees_all_cases(actor) -> bool:
    return actor.reads_all or bool(actor.roles & SUPERVISORS)


def instance_filter(actor):
    """SQL condition for the instances a caller sees.

    Written as ``id IN (a UNION b UNION …)`` of index-only selects, so a department with a few
    cases among many does not scan every case (an OR of the same conditions does)."""
    if sees_all_cases(actor):
        return True
    return _instance_filter(actor.id, actor.roles)


# Building these statements costs more than running them (SQLAlchemy adapts an alias's columns
# anew for every new alias), and a caller asks for them on every case read: one alias, and the
# recent callers' filters kept.
_INST = aliased(Instance)


def _visibility_rules(actor_id: int, actor_roles: frozenset[str]) -> list[tuple]:
    """Why a caller sees a case, one rule per index range: ``(select of case ids labelled "id",
    whether the select reads the instance table)``. The single place these rules are written."""
    inst = _INST
    rules = [
        (select(inst.id.label("id")).where(inst.starter_id == actor_id), True),
        (select(inst.id.label("id")).where(inst.enterprise_id == actor_id), True),
    ]
    if "commissioner" in actor_roles:
        rules.append(
            (
                select(inst.id.label("id")).where(
                    inst.enterprise_id.in_(select(Pairing.applicant_id).where(Pairing.commissioner_id == actor_id))
                ),
                True,
            )
        )
    audiences = [task_audience(actor_id, "")] + [task_audience(None, r) for r in sorted(actor_roles & DEPARTMENT_ROLES)]
    rules += [(select(Task.instance_id.label("id")).where(Task.audience == a), False) for a in audiences]
    return rules


@functools.lru_cache(maxsize=4096)
def _instance_filter(actor_id: int, actor_roles: frozenset[str]):
    return Instance.id.in_(union(*[sel for sel, _ in _visibility_rules(actor_id, actor_roles)]))


def visible_instance_ids(actor, filters: dict, limit, conditions=None):
    """A select of the ids of the cases a caller sees that match ``filters`` (instance column →
    value) and ``conditions(instance alias)`` (a list of conditions), newest first, at most
    ``limit``.

    One index range per visibility rule, each read newest first and cut at ``limit``, then
    merged: a department with 100,000 cases pays for a page, not for every case it has ever
    touched. (Callers that see every case need no rule: see ``sees_all_cases``.)"""
    inst = _INST
    branches = []
    extra = conditions(inst) if conditions else []
    for sel, on_instances in _visibility_rules(actor.id, actor.roles):
        if (filters or extra) and not on_instances:
            sel = sel.join(inst, inst.id == Task.instance_id)
        sel = sel.where(*[getattr(inst, k) == v for k, v in filters.items()], *extra)
        key = inst.id if on_instances else Task.instance_id
        if not on_instances:
            sel = sel.distinct()
        branches.append(sel.order_by(key.desc()).limit(limit))
    merged = union(*[select(b.subquery()) for b in branches]).subquery()
    return select(merged.c.id).order_by(merged.c.id.desc()).limit(limit)


def can_see_instance(session: Session, actor, instance: Instance) -> bool:
    if sees_all_cases(actor):
        return True
    return session.scalar(select(Instance.id).where(Instance.id == instance.id, instance_filter(actor))) is not None
