"""Moving running cases to another version of their process: a dry run that says which cases can
move and why the others cannot, and the move itself — selected cases, one transaction per case under
its row lock, audited on the case's own chain (``migrated``, with both versions) so the trace says
from which event on the case ran on which version. The engine part is engine/workflow/migration.py."""

from __future__ import annotations

from sqlalchemy import select, update

from engine.audit.chain import Recorder
from engine.service import outbox
from engine.service.actor import Actor
from engine.service.errors import Invalid, NotFound
from engine.service.projection import apply_step
from engine.service.writes import OPEN_TASKS, WAITING_TIMERS, Changes
from engine.store.models import Instance, ProcessVersionRow, Task, task_audience
from engine.workflow.migration import migrate

MAX_CASES = 1000


def _target(s, key: str, version: int | None) -> ProcessVersionRow:
    q = select(ProcessVersionRow).where(ProcessVersionRow.key == key)
    q = q.where(ProcessVersionRow.version == version) if version else q.order_by(ProcessVersionRow.version.desc())
    row = s.scalars(q.limit(1)).first()
    if row is None:
        raise NotFound(
            "没有该流程版本",
            f"no version {version or '(latest)'} of process '{key}'",
            {"to_version": ["不存在 / no such version"]},
        )
    return row


def dry_run(service, key: str, to_version: int | None = None, instance_ids: list[int] | None = None) -> dict:
    """Every running case of ``key`` not on the target version (or those of ``instance_ids``), with
    whether it can move, and the reasons when not. Nothing is written."""
    out = []
    with service.db.read() as s:
        target = _target(s, key, to_version)
        new = service.version(s, target.id)
        q = select(Instance).where(
            Instance.process_key == key, Instance.status == "running", Instance.version_id != target.id
        )
        if instance_ids:
            q = q.where(Instance.id.in_(instance_ids))
        cases = s.scalars(q.order_by(Instance.id).limit(MAX_CASES)).all()
        for inst in cases:
            old = service.version(s, inst.version_id)
            v = migrate(service.engine, old, new, inst.state)
            out.append(
                {
                    "process_instance_id": inst.id,
                    "from_version": old.version,
                    "can_move": v.can_move,
                    "reasons": v.reasons,
                    "changed_activities": v.changed,
                }
            )
    return {"process_key": key, "to_version": target.version, "cases": out}


def migrate_cases(service, actor: Actor, key: str, to_version: int | None, instance_ids: list[int]) -> dict:
    """Move each case in its own transaction; a case that cannot move is left as it was and listed
    with its reasons."""
    if not instance_ids:
        raise Invalid("请选择案件", "select the cases to move", {"process_instance_ids": ["必填 / required"]})
    with service.db.read() as s:
        target_id = _target(s, key, to_version).id
    results = []
    for iid in instance_ids:
        results.append(_move_one(service, actor, key, target_id, iid))
    return {"process_key": key, "results": results}


def _move_one(service, actor: Actor, key: str, target_id: int, iid: int) -> dict:
    now = service.now()
    with service.db.write() as s:
        inst = service._lock_instance(s, iid)
        if inst is None or inst.process_key != key:
            return {
                "process_instance_id": iid,
                "moved": False,
                "reasons": [{"reason_zh": "没有该流程的此案件", "reason_en": "no such case of this process"}],
            }
        new = service.version(s, target_id)
        if inst.status != "running" or inst.version_id == target_id:
            why = (
                ("案件已结束", "the case has ended")
                if inst.status != "running"
                else ("案件已在该版本", "the case is on that version already")
            )
            return {"process_instance_id": iid, "moved": False, "reasons": [{"reason_zh": why[0], "reason_en": why[1]}]}
        old = service.version(s, inst.version_id)
        v = migrate(service.engine, old, new, inst.state)
        if not v.can_move:
            return {"process_instance_id": iid, "moved": False, "from_version": old.version, "reasons": v.reasons}
        open_rows = {t.id: t for t in s.scalars(OPEN_TASKS, {"iid": inst.id})}
        timer_rows = {t.task_id: t for t in s.scalars(WAITING_TIMERS, {"iid": inst.id})}
        changes = Changes(s, inst, open_rows.values(), timer_rows.values())
        rec = Recorder(s, inst, now, actor.username, None)
        rec.add(
            "migrated",
            None,
            None,
            {
                "from_version": old.version,
                "to_version": new.version,
                "from_version_id": old.id,
                "to_version_id": new.id,
                "changed_activities": v.changed,
            },
        )
        service._save_state(inst, v.result, now)
        apply_step(s, inst, new, v.result, rec, completed_task=None, open_rows=open_rows, timer_rows=timer_rows)
        changes.write()
        conn = s.connection()
        conn.execute(update(Instance.__table__).where(Instance.id == inst.id).values(version_id=new.id))
        # open tasks that stay take the new version's name, department and form
        for t in open_rows.values():
            info = new.tasks.get(t.activity_id)
            if (
                t.state == "open"
                and info
                and (info["name"], info["role"], info["form_key"]) != (t.name, t.role, t.form_key)
            ):
                conn.execute(
                    update(Task.__table__)
                    .where(Task.id == t.id)
                    .values(
                        name=info["name"],
                        role=info["role"],
                        form_key=info["form_key"],
                        audience=task_audience(t.reserved_for_id, info["role"]),
                    )
                )
        outbox.publish(s, rec.written)
    service.timers_changed()
    return {
        "process_instance_id": iid,
        "moved": True,
        "from_version": old.version,
        "to_version": new.version,
        "changed_activities": v.changed,
    }
