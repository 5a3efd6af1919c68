"""Commands write the rows they read with Core UPDATEs (engine/service/writes.py, ``Changes``): the case's
UPDATE still refuses to overwrite a state another writer changed after this command read it,
and the whole command — task, case, timers, audit events — then rolls back."""

from __future__ import annotations

from sqlalchemy import func, select, text
from test_api_core import GOOD_START, MINI


def _snapshot(siji, iid):
    from engine.store.models import AuditEvent, Instance, Task, Timer

    with siji.service.db.read() as s:
        inst = s.get(Instance, iid)
        return (
            inst.state,
            inst.status,
            inst.lock_version,
            inst.last_hash,
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.instance_id == iid)),
            sorted((t.id, t.state) for t in s.scalars(select(Task).where(Task.instance_id == iid))),
            sorted((t.id, t.status) for t in s.scalars(select(Timer).where(Timer.instance_id == iid))),
        )


def test_a_state_changed_under_the_command_is_refused_and_nothing_is_written(siji, monkeypatch):
    siji.deploy_paths(MINI)
    iid = siji.start("mini", "ent_a", GOOD_START)["id"]
    task = siji.task_for("bureau", iid, "Task_Review")
    before = _snapshot(siji, iid)

    from engine.service.writes import Changes

    real_write = Changes.write

    def racing_write(self):
        # another writer committed a new version of the case after this command read it
        self.session.execute(
            text("UPDATE process_instances SET lock_version = lock_version + 1 WHERE id = :i"), {"i": iid}
        )
        return real_write(self)

    monkeypatch.setattr(Changes, "write", racing_write)
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": True}})
    assert resp.status_code == 409 and resp.get_json()["error"] == "conflict", resp.get_data(as_text=True)
    assert _snapshot(siji, iid) == before  # not the task, not the case, not one audit event

    monkeypatch.setattr(Changes, "write", real_write)
    siji.complete("bureau", iid, "Task_Review", {"complete": True})
    after = _snapshot(siji, iid)
    assert after[1] == "completed" and after[2] == before[2] + 1 and after[4] > before[4]
    from engine.audit.chain import verify_instance
    from engine.store.models import Instance

    with siji.service.db.read() as s:
        assert verify_instance(s, s.get(Instance, iid)) == (True, None)
