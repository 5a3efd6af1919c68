"""A department's handling of claimed tasks (reassign, release, delegate — each with a reason in
the case's trace) and comments on a case. The rules are the core's (engine/service/task_admin.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.routes.tasks import get_task
from api.schemas import StrictSchema, TaskDetailSchema
from engine.service import task_admin
from engine.service.errors import NotFound
from engine.service.visibility import can_see_instance, can_see_task
from engine.store.models import AuditEvent, Instance, Task, User, UserRole

blp = Blueprint(
    "task_admin",
    __name__,
    url_prefix="/api",
    description="改派、收回、委托任务；案件留言 / reassign, release, delegate tasks; case comments",
)

_TEXT = validate.Length(min=1, max=task_admin.MAX_TEXT)


class ReasonSchema(StrictSchema):
    reason = fields.String(
        required=True, validate=_TEXT, metadata={"description": "理由（记入轨迹）/ reason, in the trace"}
    )


class HandOverSchema(ReasonSchema):
    to = fields.String(
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"description": "接收人用户名 / the receiving user's username"},
    )


class CommentSchema(StrictSchema):
    text = fields.String(required=True, validate=_TEXT)


class CommentOutSchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_name = fields.String()
    text = fields.String()


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentOutSchema))


class CandidateSchema(Schema):
    username = fields.String()
    display_name = fields.String()


class CandidateListSchema(Schema):
    items = fields.List(fields.Nested(CandidateSchema))


@blp.route("/tasks/<string:task_id>/reassign", methods=["POST"])
@blp.arguments(HandOverSchema)
@blp.response(200, TaskDetailSchema)
def reassign(body, task_id):
    """改派（部门负责人）/ Reassign a task to another member of its department (department supervisor)."""
    task_admin.reassign(service(), actor(), task_id, body["to"], body["reason"])
    return get_task(task_id)


@blp.route("/tasks/<string:task_id>/release", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, TaskDetailSchema)
def release(body, task_id):
    """收回（部门负责人）：退回本部门待办 / Release someone's claim (department supervisor)."""
    task_admin.release(service(), actor(), task_id, body["reason"])
    return get_task(task_id)


@blp.route("/tasks/<string:task_id>/delegate", methods=["POST"])
@blp.arguments(HandOverSchema)
@blp.response(200, TaskDetailSchema)
def delegate(body, task_id):
    """委托（认领人）：交给本部门同事 / Hand one's own claimed task to a colleague of the department."""
    task_admin.delegate(service(), actor(), task_id, body["to"], body["reason"])
    return get_task(task_id)


@blp.route("/tasks/<string:task_id>/candidates")
@blp.response(200, CandidateListSchema)
def candidates(task_id):
    """可接收该任务的本部门人员 / Who in the task's department may receive it."""
    svc = service()
    me = actor()
    with svc.db.read() as s:
        task = s.get(Task, task_id[:36])
        if task is None or not can_see_task(s, me, task):
            raise NotFound("任务不存在", "no such task")
        rows = s.execute(
            select(User.username, User.display_name)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == task.role, User.active.is_(True))
            .order_by(User.username)
        ).all()
    return {"items": [{"username": u, "display_name": d or u} for u, d in rows]}


@blp.route("/process-instances/<int:instance_id>/comments", methods=["POST"])
@blp.arguments(CommentSchema)
@blp.response(201, CommentOutSchema)
def add_comment(body, instance_id):
    """案件留言（记入轨迹）/ Leave a comment on a case (an event of its trace)."""
    return task_admin.comment(service(), actor(), instance_id, body["text"])


@blp.route("/process-instances/<int:instance_id>/comments")
@blp.response(200, CommentListSchema)
def list_comments(instance_id):
    """案件留言 / The case's comments, oldest first."""
    svc = service()
    me = actor()
    with svc.db.read() as s:
        inst = s.get(Instance, instance_id)
        if inst is None or not can_see_instance(s, me, inst):
            raise NotFound("案件不存在", "no such case")
        rows = s.execute(
            select(AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.data, User.display_name)
            .outerjoin(User, User.username == AuditEvent.actor)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.transition == "comment")
            .order_by(AuditEvent.seq)
        ).all()
    return {
        "items": [
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "actor_name": r.display_name or r.actor,
                "text": (r.data or {}).get("text", ""),
            }
            for r in rows
        ]
    }
