from __future__ import annotations

import functools
import json

from flask import jsonify, request
from sqlalchemy import bindparam, select, union_all

from api.blueprint import Blueprint
from api.routes.common import (
    actor,
    deadline_status,
    page_of_few,
    page_total,
    plain,
    service,
    task_json,
)
from api.routes.inbox_filters import filtered_tasks_query, wants_filters
from api.routes.task_context import page_context
from api.schemas import CompleteResultSchema, CompleteSchema, TaskDetailSchema, TaskPageSchema, TaskQuery
from engine.forms import case_file
from engine.forms.case_file import without_empty_readonly
from engine.forms.compile import walk_components
from engine.service.errors import Invalid, NotFound
from engine.service.visibility import can_see_task, task_audiences
from engine.store.models import Instance, ProcessVersionRow, Task
from engine.workflow import flow_settings

blp = Blueprint(
    "tasks",
    __name__,
    url_prefix="/api/tasks",
    description="待办任务：认领、释放、办理 / the task inbox: claim, unclaim, complete",
)


@blp.route("")
@blp.arguments(TaskQuery, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(query):
    """我的待办（分页，按期限再按创建时间排序；可按业务编号/企业搜索，按流程、期限、认领人筛选）/
    The caller's inbox, paged, by due time then creation; search by business key or enterprise,
    filter by flow, due window and claimant, other sort orders. Each row carries the case's
    business key, enterprise and flow name and the claimant's display name."""
    svc = service()
    me = actor()
    now = svc.now()
    params = {
        "now": now,
        "me": me.id,
        "state": query["state"],
        "role": query.get("role"),
        "iid": query.get("process_instance_id"),
        "per_page": query["per_page"],
        "off": (query["page"] - 1) * query["per_page"],
        "need": query["page"] * query["per_page"],
    }
    shape = (
        query["state"] != "all",
        bool(query.get("role")),
        query.get("assignee") == "me",
        bool(query.get("process_instance_id")),
        query.get("overdue"),
    )
    with svc.db.read() as s:
        if wants_filters(query):
            stmt = filtered_tasks_query(me, query, now)
            tasks = s.scalars(stmt.limit(query["per_page"]).offset(params["off"])).all()
            total, exact = page_total(
                s, len(tasks), params["off"], query["per_page"], stmt.with_only_columns(Task.id).order_by(None)
            )
        else:
            tasks, total, exact = _default_page(s, me, query, params, shape)
        ctx = page_context(s, tasks)
    # The inbox is the most read page: answer with plain JSON (same shape as TaskPageSchema,
    # which documents it) instead of a marshmallow dump of every row.
    items = [
        plain(
            {
                **task_json(t, ctx.usernames, now, ctx.labels.get(t.instance_id)),
                **ctx.per_task[t.id],
                "due_soon": _due_soon(t, now),
            }
        )
        for t in tasks
    ]
    return jsonify(
        {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total, "total_exact": exact}
    )


def _default_page(s, me, query: dict, params: dict, shape: tuple):
    """The plain inbox (open tasks by due time, the older filters only) off the inbox indexes."""
    if me.reads_all:
        count_q, page_q = _inbox_statements(shape, None)
    else:
        # One index range per audience (the caller's own reserved tasks, each of its roles),
        # each read in order and cut at the page's end, then merged: a department with
        # 100,000 open tasks costs the same as one with ten.
        audiences = task_audiences(me)
        params.update({f"a{i}": a for i, a in enumerate(audiences)})
        count_q, page_q = _inbox_statements(shape, len(audiences))
    if count_q is None:
        tasks, total = page_of_few(
            s.scalars(page_q, params).all(),
            lambda t: (t.sort_due, t.created_at, t.id),
            params["off"],
            query["per_page"],
        )
        return tasks, total, True
    tasks = s.scalars(page_q, params).all()
    total, exact = page_total(s, len(tasks), params["off"], query["per_page"], count_q, params)
    return tasks, total, exact


def _due_soon(t: Task, now) -> bool:
    return deadline_status(t, now) == "due_soon"


_TASK_WITH_STATE = (
    select(
        Task,
        Instance.version_id,
        Instance.state,
        Instance.business_key,
        Instance.display_name,
        ProcessVersionRow.name,
        ProcessVersionRow.start_form,
    )
    .join(Instance, Instance.id == Task.instance_id)
    .join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
    .where(Task.id == bindparam("id"))
)
# the steps done before, in order: the case file's sections
_DONE = (
    select(Task.activity_id, Task.name, Task.form_key)
    .where(Task.instance_id == bindparam("iid"), Task.state == "completed")
    .order_by(Task.completed_at, Task.id)
)


@functools.lru_cache(maxsize=256)
def _inbox_statements(shape: tuple, n_audiences: int | None):
    """The ids to count and the page's rows of one shape of inbox query, values as parameters;
    no ids to count (None) when the rows are few enough to be read whole and paged by the caller.
    Built once per shape: building the union costs more than running it."""
    has_state, has_role, mine, has_instance, overdue = shape
    conds = []
    if has_state:
        conds.append(Task.state == bindparam("state"))
    if has_role:
        conds.append(Task.role == bindparam("role"))
    if mine:
        conds.append(Task.assignee_id == bindparam("me"))
    if has_instance:
        conds.append(Task.instance_id == bindparam("iid"))
    if overdue is True:
        conds += [Task.due_at.is_not(None), Task.due_at < bindparam("now")]
    elif overdue is False:
        conds.append((Task.due_at.is_(None)) | (Task.due_at >= bindparam("now")))
    order = (Task.sort_due, Task.created_at, Task.id)
    audience = [bindparam(f"a{i}") for i in range(n_audiences or 0)]
    where = conds if n_audiences is None else [Task.audience.in_(audience), *conds]
    if has_instance:
        # one case's tasks: read whole, unordered, through the case index (common.page_of_few)
        return None, select(Task).where(*where)
    count_ids = select(Task.id).where(*where)
    if mine or n_audiences is None:
        # Everything the caller may read, or the caller's own claimed tasks: one ordered range
        # of one index (per-audience branches would each walk the department's inbox index).
        return count_ids, (
            select(Task).where(*where).order_by(*order).limit(bindparam("per_page")).offset(bindparam("off"))
        )
    branches = [
        select(Task.id, Task.sort_due, Task.created_at)
        .where(Task.audience == a, *conds)
        .order_by(*order)
        .limit(bindparam("need"))
        .subquery()
        for a in audience
    ]
    merged = union_all(*[select(b) for b in branches]).subquery()
    ids = (
        select(merged)
        .order_by(merged.c.sort_due, merged.c.created_at, merged.c.id)
        .limit(bindparam("per_page"))
        .offset(bindparam("off"))
        .subquery()
    )
    # the page's rows in the same statement that picks them
    return count_ids, select(Task).join(ids, Task.id == ids.c.id).order_by(ids.c.sort_due, ids.c.created_at, ids.c.id)


@blp.route("/<string:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    """一个任务及其表单（form-js）和初始数据 / One task with its form-js form and the data it starts with."""
    svc = service()
    me = actor()
    with svc.db.read() as s:
        found = s.execute(_TASK_WITH_STATE, {"id": task_id[:36]}).first()
        task = found[0] if found else None
        if task is None or not can_see_task(s, me, task):
            raise NotFound("任务不存在", "no such task")
        _, version_id, state, business_key, display_name, process_name, start_form = found
        pv = svc.version(s, version_id)
        ctx = page_context(s, [task])
        names, context = ctx.usernames, ctx.per_task[task.id]
        form = (pv.resources.get("forms") or {}).get(task.form_key)
        values_keys = [
            c["valuesKey"] for c in walk_components((form or {}).get("components", [])) if c.get("valuesKey")
        ]
        options = svc.options(s, pv) if values_keys else {}
        done = s.execute(_DONE, {"iid": task.instance_id}).all() if task.state == "open" else []
    body = {
        **task_json(
            task,
            names,
            svc.now(),
            {"business_key": business_key, "display_name": display_name, "process_name": process_name},
        ),
        **context,
    }
    data, case_file = {}, None
    if task.state == "open":
        ready = svc.engine.ready_task_data(state, task.id)
        if ready is not None:
            data = _form_data(form, ready)
            case_file = _case_file(pv, start_form, done, form, ready)
            form = without_empty_readonly(form, ready)
    for vk in values_keys:
        if vk in options:
            data[vk] = options[vk]
    body.update(
        form=form,
        data=json.loads(json.dumps(data, default=str)),
        case_file=json.loads(json.dumps(case_file, default=str)) if case_file else None,
    )
    return body


def _case_file(pv, start_form, done, form, ready: dict) -> dict | None:
    """The application and every earlier step's fields, read-only, from what the task holds."""
    forms = pv.resources.get("forms") or {}
    last = {}
    for activity_id, name, form_key in done:  # a repeated step: its latest round, in that place
        last.pop(activity_id, None)
        last[activity_id] = (name, forms.get(form_key))
    sections = [("申请 / application", start_form)] + list(last.values())
    return case_file.build(sections, ready, flow_settings.form_keys(form))


def _form_data(form, task_data: dict) -> dict:
    """What the form shows: its own fields' current values plus display-only context
    (every top-level value the form's text/expressions may refer to is kept small)."""
    if not form:
        return {}
    keys = set()
    for c in walk_components(form.get("components", [])):
        if c.get("key"):
            keys.add(c["key"].split(".")[0])
        if c.get("path"):
            keys.add(c["path"].split(".")[0])
        if c.get("valuesKey"):
            keys.add(c["valuesKey"])
    return {k: task_data[k] for k in keys if k in task_data}


@blp.route("/<string:task_id>/claim", methods=["POST"])
@blp.response(200, TaskDetailSchema)
def claim(task_id):
    """认领任务 / Claim a task (409 when someone else holds it)."""
    service().claim(actor(), task_id)
    return get_task(task_id)


@blp.route("/<string:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskDetailSchema)
def unclaim(task_id):
    """释放任务 / Give a claimed task back to the department."""
    service().unclaim(actor(), task_id)
    return get_task(task_id)


@blp.route("/<string:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, CompleteResultSchema)
def complete(body, task_id):
    """办理完成 / Complete a task with its form data `{data}`; validated against the task's form
    (422 names every bad field). Send an `Idempotency-Key` header to make a retry safe."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200):
        raise Invalid(
            "幂等键长度须为 1–200",
            "Idempotency-Key must be 1-200 characters",
            {"Idempotency-Key": ["长度无效 / bad length"]},
        )
    return service().complete(actor(), task_id, body.get("data"), key)
