from __future__ import annotations

import json

from flask import jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select, union_all

from engine.forms import walk_components

from ..authz import can_see_task, task_audiences
from ..commands import Invalid, NotFound
from ..models import Task
from ..schemas import CompleteResultSchema, CompleteSchema, TaskDetailSchema, TaskPageSchema, TaskQuery
from .common import actor, capped_count, plain, service, task_json, usernames

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks",
                description="待办任务：认领、释放、办理 / the task inbox: claim, unclaim, complete")


@blp.route("")
@blp.arguments(TaskQuery, location="query")
@blp.response(200, TaskPageSchema)
def list_tasks(query):
    """我的待办（分页，按期限再按创建时间排序）/ The caller's inbox, paged, by due time then creation."""
    svc = service()
    me = actor()
    now = svc.now()
    conds = []
    if query["state"] != "all":
        conds.append(Task.state == query["state"])
    if query.get("role"):
        conds.append(Task.role == query["role"])
    if query.get("assignee") == "me":
        conds.append(Task.assignee_id == me.id)
    if query.get("process_instance_id"):
        conds.append(Task.instance_id == query["process_instance_id"])
    if query.get("overdue") is True:
        conds += [Task.due_at.is_not(None), Task.due_at < now]
    elif query.get("overdue") is False:
        conds.append((Task.due_at.is_(None)) | (Task.due_at >= now))
    order = (Task.sort_due, Task.created_at, Task.id)
    page, per_page = query["page"], query["per_page"]
    with svc.db.read() as s:
        if me.reads_all:
            total, exact = capped_count(s, select(Task.id).where(*conds))
            tasks = s.scalars(select(Task).where(*conds).order_by(*order)
                              .limit(per_page).offset((page - 1) * per_page)).all()
        else:
            # One index range per audience (the caller's own reserved tasks, each of its roles),
            # each read in order and cut at the page's end, then merged: a department with
            # 100,000 open tasks costs the same as one with ten.
            audiences = task_audiences(me)
            total, exact = capped_count(s, select(Task.id).where(Task.audience.in_(audiences), *conds))
            need = page * per_page
            branches = [select(Task.id, Task.sort_due, Task.created_at)
                        .where(Task.audience == a, *conds).order_by(*order).limit(need).subquery()
                        for a in audiences]
            merged = union_all(*[select(b) for b in branches]).subquery()
            ids = s.scalars(select(merged.c.id).order_by(merged.c.sort_due, merged.c.created_at, merged.c.id)
                            .limit(per_page).offset((page - 1) * per_page)).all()
            by_id = {t.id: t for t in s.scalars(select(Task).where(Task.id.in_(ids)))} if ids else {}
            tasks = [by_id[i] for i in ids]
        names = usernames(s, [t.assignee_id for t in tasks] + [t.completed_by for t in tasks])
    # The inbox is the most read page: answer with plain JSON (same shape as TaskPageSchema,
    # which documents it) instead of a marshmallow dump of every row.
    return jsonify({"items": [plain(task_json(t, names, now)) for t in tasks], "page": query["page"],
                    "per_page": query["per_page"], "total": total, "total_exact": exact})


@blp.route("/<string:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    """一个任务及其表单（form-js）和初始数据 / One task with its form-js form and the data it starts with."""
    svc = service()
    me = actor()
    with svc.db.read() as s:
        task = s.get(Task, task_id[:36])
        if task is None or not can_see_task(s, me, task):
            raise NotFound("任务不存在", "no such task")
        from ..models import Instance
        inst = s.get(Instance, task.instance_id)
        pv = svc.version(s, inst.version_id)
        names = usernames(s, [task.assignee_id, task.completed_by])
        options = svc.options(s, pv)
        state = inst.state
    form = (pv.resources.get("forms") or {}).get(task.form_key)
    body = task_json(task, names, svc.now())
    data = {}
    if task.state == "open":
        snap = svc.engine.snapshot(pv, state)
        for ut in snap.user_tasks:
            if ut.id == task.id:
                data = _form_data(form, ut.data)
    if form:
        for comp in walk_components(form.get("components", [])):
            vk = comp.get("valuesKey")
            if vk in options:
                data[vk] = options[vk]
    body.update(form=form, data=json.loads(json.dumps(data, default=str)))
    return body


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
        raise Invalid("幂等键长度须为 1–200", "Idempotency-Key must be 1-200 characters",
                      {"Idempotency-Key": ["长度无效 / bad length"]})
    return service().complete(actor(), task_id, body.get("data"), key)
