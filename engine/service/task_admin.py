"""A department's own handling of claimed tasks, and comments on a case.

- reassign (a department supervisor: the ``dept_supervisor`` flag beside the task's department
  role): the task goes to another member of the department;
- release (a supervisor): a claimed task goes back to the department's unclaimed inbox;
- delegate (the claimant): hands its own claimed task to a colleague of the department;
- comment (anyone who may see the case and acts on tasks): a note on the case.

Each needs a reason (or the comment's text) and writes one audit event in the case's chain, in
the command's transaction, under the case's lock. The event is the record: the trace, its
exports and the outbox all show it.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.audit.chain import Recorder
from engine.service import outbox
from engine.service.actor import Actor
from engine.service.errors import Conflict, Forbidden, Invalid, NotFound
from engine.service.visibility import can_see_instance
from engine.store.models import User, UserRole

SUPERVISOR_FLAG = "dept_supervisor"
MAX_TEXT = 1000


def _text(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(
            "请填写理由" if field == "reason" else "请填写内容", f"{field} is required", {field: ["必填 / required"]}
        )
    if len(text) > MAX_TEXT:
        raise Invalid(
            "内容过长", f"{field} is too long", {field: [f"不超过 {MAX_TEXT} 字 / at most {MAX_TEXT} characters"]}
        )
    return text


def supervises(actor: Actor, role: str) -> bool:
    return SUPERVISOR_FLAG in actor.roles and role in actor.roles


def _member(s, username: str, role: str) -> User:
    user = s.scalar(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.username == username, User.active.is_(True), UserRole.role == role)
    )
    if user is None:
        raise Invalid(
            "接收人不是该部门的在岗人员",
            f"'{username}' is not an active member of {role}",
            {"to": ["不是该部门人员 / not a member of the task's department"]},
        )
    return user


def _names(s, *ids) -> dict[int, str]:
    ids = [i for i in ids if i]
    return dict(s.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}


def _record(s, inst, task, now, actor: Actor, transition: str, data: dict) -> None:
    rec = Recorder(s, inst, now, actor.username, task.role)
    rec.add(transition, task.activity_id, task.name, data, task.id)
    rec.flush()
    outbox.publish(s, rec.written)


def reassign(svc, actor: Actor, task_id: str, to: str, reason: str | None) -> None:
    reason = _text(reason, "reason")
    now = svc.now()
    with svc.db.write() as s:
        task, inst, _ = svc._task_for_action(s, actor, task_id)
        if not supervises(actor, task.role):
            raise Forbidden("只有本部门负责人可以改派", "only a supervisor of the task's department may reassign it")
        if task.reserved_for_id is not None:
            raise Conflict("该任务指定给特定用户，不能改派", "the task is reserved for one user")
        target = _member(s, to, task.role)
        if task.assignee_id == target.id:
            raise Conflict("任务已由该人员认领", "the task is already claimed by that user")
        before = _names(s, task.assignee_id).get(task.assignee_id)
        task.assignee_id, task.claimed_at = target.id, now
        _record(s, inst, task, now, actor, "reassign", {"from": before, "to": target.username, "reason": reason})


def release(svc, actor: Actor, task_id: str, reason: str | None) -> None:
    reason = _text(reason, "reason")
    now = svc.now()
    with svc.db.write() as s:
        task, inst, _ = svc._task_for_action(s, actor, task_id)
        if not supervises(actor, task.role):
            raise Forbidden("只有本部门负责人可以收回任务", "only a supervisor of the task's department may release it")
        if task.assignee_id is None:
            raise Conflict("任务未被认领", "the task is not claimed")
        before = _names(s, task.assignee_id)[task.assignee_id]
        task.assignee_id, task.claimed_at = None, None
        _record(s, inst, task, now, actor, "release", {"from": before, "reason": reason})


def delegate(svc, actor: Actor, task_id: str, to: str, reason: str | None) -> None:
    reason = _text(reason, "reason")
    now = svc.now()
    with svc.db.write() as s:
        task, inst, _ = svc._task_for_action(s, actor, task_id)
        if task.assignee_id != actor.id:
            raise Conflict("只能委托自己认领的任务", "you may delegate only a task you have claimed")
        if task.reserved_for_id is not None:
            raise Conflict("该任务指定给特定用户，不能委托", "the task is reserved for one user")
        target = _member(s, to, task.role)
        if target.id == actor.id:
            raise Invalid("不能委托给自己", "cannot delegate to yourself", {"to": ["不能是自己 / not yourself"]})
        task.assignee_id, task.claimed_at = target.id, now
        _record(
            s, inst, task, now, actor, "delegate", {"from": actor.username, "to": target.username, "reason": reason}
        )


def comment(svc, actor: Actor, instance_id: int, text: str | None) -> dict:
    text = _text(text, "text")
    now = svc.now()
    with svc.db.write() as s:
        inst = svc._lock_instance(s, instance_id)
        if inst is None or not can_see_instance(s, actor, inst):
            raise NotFound("案件不存在", "no such case")
        rec = Recorder(s, inst, now, actor.username, actor.primary_role())
        row = rec.add("comment", None, None, {"text": text})
        rec.flush()
    return {"seq": row["seq"], "at": row["at"], "actor": actor.username, "text": text}
