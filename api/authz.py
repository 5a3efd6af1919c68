"""Who may do what: the authorization matrix (endpoint × role) and row visibility, in one place.

The matrix is enforced before any view runs (``check_endpoint``); row-level rules (whose task,
whose case) are the functions below, used by every query that lists or fetches rows. Rows a
caller may not see answer 404, never 403, so ids cannot be probed.
"""
from __future__ import annotations

import functools

from sqlalchemy import select, union
from sqlalchemy.orm import Session, aliased

from engine import roles

from engine.store.models import Instance, Pairing, Task

DEPARTMENT_ROLES = frozenset(r.code for r in roles.ROLES if r.code not in roles.SYSTEM_ROLES
                             and r.code not in ("applicant", "commissioner"))
TASK_ROLES = DEPARTMENT_ROLES | {"applicant", "commissioner"}
ALL_ROLES = frozenset(r.code for r in roles.ROLES)
PUBLIC = "public"

# endpoint name → roles that may call it (row rules then narrow what each sees).
MATRIX: dict[str, frozenset[str] | str] = {
    "health.health": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "api-docs.openapi_swagger_ui": PUBLIC,
    "pages.static_page": PUBLIC,
    "pages.asset": PUBLIC,
    "me.whoami": ALL_ROLES,
    "deployments.deploy": frozenset({"analyst"}),
    "definitions.list_definitions": ALL_ROLES,
    "definitions.get_definition": ALL_ROLES,
    "definitions.get_xml": frozenset({"analyst", "auditor", "admin"}) | TASK_ROLES,
    "definitions.get_resource": frozenset({"analyst", "auditor", "admin"}),
    "instances.start": frozenset({"applicant", "commissioner"}),
    "instances.list_instances": TASK_ROLES | {"auditor", "admin"},
    "instances.get_instance": TASK_ROLES | {"auditor", "admin"},
    "tasks.list_tasks": TASK_ROLES | {"auditor", "admin"},
    "tasks.get_task": TASK_ROLES | {"auditor", "admin"},
    "tasks.claim": TASK_ROLES,
    "tasks.unclaim": TASK_ROLES,
    "tasks.complete": TASK_ROLES,
    "timers.list_timers": frozenset({"auditor", "admin", "leading_group_office"}),
    "incidents.list_incidents": frozenset({"auditor", "admin", "analyst"}),
    "traces.instance_trace": TASK_ROLES | {"auditor", "admin"},
    "traces.verify_trace": frozenset({"auditor", "admin"}),
    "traces.export_traces": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.departments": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.flows": frozenset({"auditor", "admin", "leading_group_office"}),
    "reports.ledger": frozenset({"auditor", "admin", "leading_group_office", "economic_dev", "commissioner_office"}),
    "admin.get_clock": frozenset({"admin", "auditor"}),
    "admin.advance_clock": frozenset({"admin"}),
    "admin.list_users": frozenset({"admin"}),
    # the view function is create_user_endpoint (renamed after registration, so Flask's endpoint
    # keeps the original name)
    "admin.create_user_endpoint": frozenset({"admin"}),
    "admin.revoke_token": frozenset({"admin"}),
    "admin.load_calendar": frozenset({"admin"}),
}


# endpoint → the row rule that narrows what an allowed caller sees or acts on (docs/SECURITY.md).
_TASK_ROWS = "tasks: own department's unreserved tasks, tasks reserved for or claimed by the caller; others 404"
_CASE_ROWS = ("cases: started by or for the caller, its paired enterprises' (commissioner), "
              "or holding a task of the caller's department; leading_group_office (supervision) "
              "sees every case; others 404")
ROW_RULES: dict[str, str] = {
    "instances.start": "applicant: for itself; commissioner: for a paired enterprise only (on_behalf_of)",
    "instances.list_instances": _CASE_ROWS,
    "instances.get_instance": _CASE_ROWS,
    "tasks.list_tasks": _TASK_ROWS,
    "tasks.get_task": _TASK_ROWS + " (also tasks the caller completed)",
    "tasks.claim": _TASK_ROWS + "; reserved tasks only by the reserved user",
    "tasks.unclaim": _TASK_ROWS + "; only the claimant",
    "tasks.complete": _TASK_ROWS + "; the actor is the token's user, never the body",
    "traces.instance_trace": _CASE_ROWS,
    "admin.advance_clock": "only when SIJI_ALLOW_CLOCK_CONTROL=1 (acceptance testing)",
}
READS_ALL = frozenset({"auditor", "admin"})   # see every row of the endpoints they may call


def allowed(endpoint: str | None, user_roles: frozenset[str] | None) -> bool | None:
    """True/False for a known endpoint; None when the endpoint is not in the matrix (refused)."""
    rule = MATRIX.get(endpoint or "")
    if rule is None:
        return None
    if rule == PUBLIC:
        return True
    return bool(user_roles and (user_roles & rule))


def is_public(endpoint: str | None) -> bool:
    return MATRIX.get(endpoint or "") == PUBLIC


# ---------------------------------------------------------------- row visibility
def task_audiences(actor) -> list[str]:
    """The ``tasks.audience`` values whose tasks a caller sees: tasks reserved for the caller and
    the unreserved tasks of the caller's roles."""
    from engine.store.models import task_audience
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
    from engine.store.models import task_audience
    inst = _INST
    rules = [(select(inst.id.label("id")).where(inst.starter_id == actor_id), True),
             (select(inst.id.label("id")).where(inst.enterprise_id == actor_id), True)]
    if "commissioner" in actor_roles:
        rules.append((select(inst.id.label("id")).where(inst.enterprise_id.in_(
            select(Pairing.applicant_id).where(Pairing.commissioner_id == actor_id))), True))
    audiences = [task_audience(actor_id, "")] + [task_audience(None, r)
                                                 for r in sorted(actor_roles & DEPARTMENT_ROLES)]
    rules += [(select(Task.instance_id.label("id")).where(Task.audience == a), False) for a in audiences]
    return rules


@functools.lru_cache(maxsize=4096)
def _instance_filter(actor_id: int, actor_roles: frozenset[str]):
    return Instance.id.in_(union(*[sel for sel, _ in _visibility_rules(actor_id, actor_roles)]))


def visible_instance_ids(actor, filters: dict, limit):
    """A select of the ids of the cases a caller sees that match ``filters`` (instance column →
    value), newest first, at most ``limit``.

    One index range per visibility rule, each read newest first and cut at ``limit``, then
    merged: a department with 100,000 cases pays for a page, not for every case it has ever
    touched. (Callers that see every case need no rule: see ``sees_all_cases``.)"""
    inst = _INST
    branches = []
    for sel, on_instances in _visibility_rules(actor.id, actor.roles):
        if filters and not on_instances:
            sel = sel.join(inst, inst.id == Task.instance_id)
        sel = sel.where(*[getattr(inst, k) == v for k, v in filters.items()])
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
