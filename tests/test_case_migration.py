"""Moving running cases to a new version, on real diagram pairs (tests/data/migration): a label
change and a task added after the current one move (the task keeps its id and claim; the trace
records both versions); a removed current task, or a removed completed one, is refused with the
reason and the case is left exactly as it was. API and CLI."""

from __future__ import annotations

from conftest import DATA

MIG = DATA / "migration"
START = {"project_name": "济宁高新区示例项目"}


def deploy(siji, variant):
    files = {"mig.bpmn": (MIG / f"mig_{variant}.bpmn").read_bytes()}
    files.update({f"forms/mig/{p.name}": p.read_bytes() for p in (MIG / "forms" / "mig").iterdir()})
    resp = siji.deploy_files(files)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["versions"][0]["version"]


def dry_run(siji, **body):
    return siji.ok(siji.post("/api/process-definitions/mig/migrations/dry-run", "analyst", json=body))


def move(siji, ids, **body):
    return siji.ok(
        siji.post("/api/process-definitions/mig/migrations", "admin", json={"process_instance_ids": ids, **body})
    )["results"]


def test_a_label_change_moves_the_case_and_its_claimed_task(siji):
    deploy(siji, "v1")
    iid = siji.start("mig", "ent_a", START)["id"]
    task = siji.task_for("bureau", iid, "Task_Review")
    siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", "bureau"))
    assert deploy(siji, "v2_label") == 2
    plan = dry_run(siji)
    assert plan["to_version"] == 2
    assert plan["cases"] == [
        {
            "process_instance_id": iid,
            "from_version": 1,
            "can_move": True,
            "reasons": [],
            "changed_activities": ["Task_Review"],
        }
    ]
    assert siji.instance(iid)["version"] == 1  # a dry run writes nothing
    assert (
        siji.post(
            "/api/process-definitions/mig/migrations", "analyst", json={"process_instance_ids": [iid]}
        ).status_code
        == 403
    )
    [r] = move(siji, [iid])
    assert r["moved"] and r["from_version"] == 1 and r["to_version"] == 2
    assert siji.instance(iid)["version"] == 2
    moved = siji.task_for("bureau", iid, "Task_Review")
    assert moved["id"] == task["id"] and moved["name"] == "审查申请材料" and moved["assignee"] == "bureau"
    migrated = [e for e in siji.trace(iid) if e[0] == "migrated"]
    assert migrated == [("migrated", None, "admin", None)]
    from sqlalchemy import select

    from engine.store.models import AuditEvent

    with siji.service.db.read() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.instance_id == iid, AuditEvent.transition == "migrated"))
        assert ev.data["from_version"] == 1 and ev.data["to_version"] == 2
    assert siji.ok(siji.get(f"/api/process-instances/{iid}/trace/verify", "auditor"))["ok"] is True
    siji.complete("bureau", iid, "Task_Review", {"reviewed": True})
    siji.complete("bureau", iid, "Task_Decide", {"approved": True})
    assert siji.instance(iid)["status"] == "completed"
    # moving again: nothing to do, said so
    assert move(siji, [iid])[0]["moved"] is False


def test_a_task_added_after_the_current_one_is_reached_later(siji):
    deploy(siji, "v1")
    at_review = siji.start("mig", "ent_a", START)["id"]
    at_decide = siji.start("mig", "ent_b", START)["id"]
    siji.complete("bureau", at_decide, "Task_Review", {"reviewed": True})
    deploy(siji, "v2_added")
    plan = {c["process_instance_id"]: c for c in dry_run(siji)["cases"]}
    assert plan[at_review]["can_move"] and plan[at_decide]["can_move"]
    assert all(r["moved"] for r in move(siji, [at_review, at_decide]))
    siji.complete("bureau", at_review, "Task_Review", {"reviewed": True})
    siji.complete("fire", at_review, "Task_FireCheck", {"fire_ok": True})  # the new task
    siji.complete("bureau", at_review, "Task_Decide", {"approved": True})
    assert siji.instance(at_review)["status"] == "completed"
    siji.complete("bureau", at_decide, "Task_Decide", {"approved": True})  # already past it
    assert siji.instance(at_decide)["status"] == "completed"
    assert "Task_FireCheck" not in siji.completed_activities(at_decide)


def test_a_removed_current_task_is_refused_with_the_reason(siji):
    deploy(siji, "v1")
    at_review = siji.start("mig", "ent_a", START)["id"]
    at_decide = siji.start("mig", "ent_b", START)["id"]
    siji.complete("bureau", at_decide, "Task_Review", {"reviewed": True})
    deploy(siji, "v2_removed")
    plan = {c["process_instance_id"]: c for c in dry_run(siji, process_instance_ids=[at_review, at_decide])["cases"]}
    assert not plan[at_review]["can_move"]
    [reason] = plan[at_review]["reasons"]
    assert reason["activity_id"] == "Task_Review" and "当前活动" in reason["reason_zh"]
    assert "not in the new version" in reason["reason_en"]
    assert not plan[at_decide]["can_move"]
    assert plan[at_decide]["reasons"][0]["activity_id"] == "Task_Review"
    assert "已办理" in plan[at_decide]["reasons"][0]["reason_zh"]
    trace_before = siji.trace(at_review)
    results = move(siji, [at_review])
    assert results[0]["moved"] is False and results[0]["reasons"][0]["activity_id"] == "Task_Review"
    assert siji.instance(at_review)["version"] == 1 and siji.trace(at_review) == trace_before
    siji.complete("bureau", at_review, "Task_Review", {"reviewed": True})  # goes on under version 1
    # an unknown version is named
    resp = siji.post("/api/process-definitions/mig/migrations/dry-run", "analyst", json={"to_version": 9})
    assert resp.status_code == 404 and "to_version" in resp.get_json()["fields"]


def test_the_cli_dry_runs_and_applies(siji, capsys, monkeypatch):
    from engine.cli import main as cli

    deploy(siji, "v1")
    iid = siji.start("mig", "ent_a", START)["id"]
    deploy(siji, "v2_label")
    monkeypatch.setattr(cli, "_service", lambda migrate=True: siji.service)
    assert cli.main(["migrate-cases", "mig"]) == 0
    assert f"case {iid} v1 -> v2: can move" in capsys.readouterr().out
    assert siji.instance(iid)["version"] == 1
    assert cli.main(["migrate-cases", "mig", "--apply"]) == 0
    assert f"case {iid}: moved" in capsys.readouterr().out
    assert siji.instance(iid)["version"] == 2


def test_a_running_deadline_keeps_its_due_time(siji):
    from datetime import timedelta

    from test_api_core import GOOD_START, mini_files

    files = mini_files()
    assert siji.deploy_files(files).status_code == 201
    iid = siji.start("mini", "ent_a", GOOD_START)["id"]
    due = [t["due_at"] for t in siji.ok(siji.get(f"/api/timers?process_instance_id={iid}", "admin"))["items"]]
    siji.clock.advance(timedelta(days=1))  # re-arming now would give a later due time
    files["mini.bpmn"] = files["mini.bpmn"].replace('name="审查材料"'.encode(), 'name="审查全部材料"'.encode())
    assert siji.deploy_files(files).status_code == 201
    r = siji.ok(siji.post("/api/process-definitions/mini/migrations", "admin", json={"process_instance_ids": [iid]}))[
        "results"
    ][0]
    assert r["moved"], r
    timers = siji.ok(siji.get(f"/api/timers?process_instance_id={iid}", "admin"))["items"]
    assert [t["due_at"] for t in timers if t["status"] == "waiting"] == due
    assert siji.advance(timedelta(days=2, minutes=1)) == 1  # and it fires then, under version 2
    assert siji.instance(iid)["outcome"]["id"] == "End_Late"
