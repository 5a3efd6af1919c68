from __future__ import annotations

from marshmallow import fields, validate
from sqlalchemy import bindparam, select

from api.blueprint import Blueprint
from api.case_query import CaseFilterQuery, trace_filter
from api.routes.common import actor, page_total, service, task_json, usernames
from api.schemas import InstanceDetailSchema, InstancePageSchema, PageQuery, StartSchema
from engine.service.errors import Invalid, NotFound
from engine.service.visibility import instance_filter, sees_all_cases, visible_instance_ids
from engine.store.models import AuditEvent, Instance, ProcessVersionRow, Task, Timer


class InstanceQuery(PageQuery, CaseFilterQuery):
    business_key = fields.String(validate=validate.Length(max=200))


blp = Blueprint(
    "instances",
    __name__,
    url_prefix="/api/process-instances",
    description="流程实例（案件）/ process instances (cases)",
)


def _summary(inst: Instance, version: int, names: dict[int, str]) -> dict:
    return {
        "id": inst.id,
        "process_key": inst.process_key,
        "version": version,
        "business_key": inst.business_key,
        "display_name": inst.display_name,
        "status": inst.status,
        "starter": names.get(inst.starter_id),
        "enterprise": names.get(inst.enterprise_id),
        "created_at": inst.created_at,
        "ended_at": inst.ended_at,
        "outcome": {"id": inst.outcome_id, "name": inst.outcome_name} if inst.outcome_id else None,
    }


@blp.route("", methods=["POST"])
@blp.arguments(StartSchema)
@blp.response(201, InstanceDetailSchema)
def start(body):
    """发起案件 / Start a case: `{process_key, business_key?, variables?}`; variables are checked
    against the process's start form."""
    named = {k: body[k] for k in ("from_instance", "from_business_key") if body.get(k) is not None}
    if body.get("from_match") is not None:
        named.update(match=body["from_match"], match_param="from_match")
    sources = [k for k in ("from_instance", "from_business_key", "from_match") if body.get(k) is not None]
    if len(sources) > 1:
        raise Invalid("只能指明一个来源案件", "name one source case", {k: ["只能选一个 / only one"] for k in sources})
    started = service().start_with_result(
        actor(),
        body["process_key"],
        body.get("business_key"),
        body.get("variables") or {},
        body.get("on_behalf_of"),
        named or None,
    )
    # The command wrote every row of the new case: answer from them instead of reading them back.
    return _render(
        started.instance,
        started.version,
        sorted(started.tasks, key=lambda t: (t.created_at, t.id)),
        started.timers,
        [(e["transition"], e["activity_id"], e["data"]) for e in started.events],
        started.names,
        started.process_version,
        started.result,
    )


@blp.route("")
@blp.arguments(InstanceQuery, location="query")
@blp.response(200, InstancePageSchema)
def list_instances(query):
    """案件列表（分页）/ Cases the caller may see, newest first, paged; filtered by flow, status,
    period started (`from`/`to`), department (a task of that role) and `overdue` (an open task
    past its due time now) — the filters `GET /api/traces` exports by."""
    svc = service()
    me = actor()
    filters = {"business_key": query["business_key"]} if query.get("business_key") else {}
    flt = trace_filter(query, svc.now())
    page, per_page = query["page"], query["per_page"]
    q = select(Instance, ProcessVersionRow.version).join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
    with svc.db.read() as s:
        if sees_all_cases(me):
            conds = [*flt.conditions(), *[getattr(Instance, k) == v for k, v in filters.items()]]
            rows = s.execute(
                q.where(*conds).order_by(Instance.id.desc()).limit(per_page).offset((page - 1) * per_page)
            ).all()
            ids = select(Instance.id).where(*conds)
        else:
            page_ids = s.scalars(visible_instance_ids(me, filters, page * per_page, flt.conditions)).all()[
                (page - 1) * per_page :
            ]
            rows = s.execute(q.where(Instance.id.in_(page_ids)).order_by(Instance.id.desc())).all() if page_ids else []
            ids = visible_instance_ids(me, filters, bindparam("cap"), flt.conditions)
        total, exact = page_total(s, len(rows), (page - 1) * per_page, per_page, ids)
        names = usernames(s, [r[0].starter_id for r in rows] + [r[0].enterprise_id for r in rows])
    return {
        "items": [_summary(i, v, names) for i, v in rows],
        "page": query["page"],
        "per_page": query["per_page"],
        "total": total,
        "total_exact": exact,
    }


@blp.route("/<int:instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id):
    """一个案件：状态、版本、当前活动、任务、定时器、结果 / One case: status, version, active
    activities, tasks, timers and, once ended, the end event reached (`outcome`)."""
    return _detail(instance_id)


_TASKS = select(Task).where(Task.instance_id == bindparam("iid")).order_by(Task.created_at, Task.id)
_TIMERS = select(Timer).where(Timer.instance_id == bindparam("iid")).order_by(Timer.id)
_EVENTS = (
    select(AuditEvent.transition, AuditEvent.activity_id, AuditEvent.data)
    .where(AuditEvent.instance_id == bindparam("iid"))
    .order_by(AuditEvent.seq)
)


def _detail(instance_id: int) -> dict:
    """The case view."""
    svc = service()
    me = actor()
    with svc.db.read() as s:
        q = (
            select(Instance, ProcessVersionRow.version)
            .join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
            .where(Instance.id == instance_id)
        )
        cond = instance_filter(me)
        if cond is not True:
            q = q.where(cond)
        found = s.execute(q).first()
        if found is None:
            raise NotFound("案件不存在", "no such case")
        inst, version = found
        tasks = s.scalars(_TASKS, {"iid": inst.id}).all()
        timers = s.scalars(_TIMERS, {"iid": inst.id}).all()
        events = s.execute(_EVENTS, {"iid": inst.id}).all()
        names = usernames(
            s, [inst.starter_id, inst.enterprise_id] + [t.assignee_id for t in tasks] + [t.completed_by for t in tasks]
        )
        pv = svc.version(s, inst.version_id)
    return _render(inst, version, tasks, timers, events, names, pv, None)


def _render(inst: Instance, version: int, tasks, timers, events, names: dict[int, str], pv, result) -> dict:
    """``result``: the engine's answer of the command that just ran, which spares loading the
    state again."""
    svc = service()
    state = inst.state
    now = svc.now()
    completed, flows = [], []
    for transition, aid, data in events:
        if aid and transition in ("complete", "gateway", "script", "business_rule", "timer_fired", "end", "activity"):
            if aid not in completed:
                completed.append(aid)
        if transition == "gateway":
            flows.extend(f for f in (data or {}).get("taken_flows", []) if f not in flows)
    snap = result if result is not None else svc.engine.snapshot(pv, state)
    if inst.status == "completed":
        data = snap.data
    else:  # a running case: what its open tasks hold, parallel branches merged
        data = {}
        for ut in snap.user_tasks:
            data.update(ut.data)
    body = _summary(inst, version, names)
    body.update(
        active_activities=[{"id": t.activity_id, "name": t.name} for t in tasks if t.state == "open"]
        + [
            {"id": t.activity_id, "name": pv.element_name(t.activity_id)}
            for t in timers
            if t.status == "waiting" and not t.attached_task_id
        ],
        tasks=[task_json(t, names, now) for t in tasks],
        timers=[
            {
                "id": t.id,
                "activity_id": t.activity_id,
                "activity_name": pv.element_name(t.activity_id),
                "due_at": t.due_at.isoformat(),
                "status": t.status,
                "provisional": t.provisional,
                "fired_at": t.fired_at.isoformat() if t.fired_at else None,
            }
            for t in timers
        ],
        completed_activities=completed,
        taken_flows=flows,
        data=_jsonable(data),
    )
    return body


def _jsonable(data):
    import json

    return json.loads(json.dumps(data, default=str))
