"""Incidents have a lifecycle: open until a retry of the failed step succeeds (``retried``), their
case ends (``superseded``) or an admin marks them handled with a note (``manual``); each change is
committed with its ``incident_resolved`` audit event. The list shows the open ones by default."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from conftest import DATA
from sqlalchemy import select
from test_case_list import _broken_bpmn
from test_metrics import scrape, value

NOTE = "脚本错误已由分析员确认，案件将迁移到修正后的版本"


def broken_case(siji) -> tuple[int, dict]:
    """A case whose timer step fails (its script reads a variable nobody sets): one incident."""
    assert siji.deploy_files(_broken_bpmn(False)).status_code == 201
    iid = siji.start("tm_broken", "ent_a")["id"]
    siji.clock.advance(timedelta(hours=2))
    assert siji.worker.run_once() == 0
    [inc] = siji.ok(siji.get(f"/api/incidents?process_instance_id={iid}", "admin"))["items"]
    return iid, inc


def resolved_events(siji) -> list:
    from engine.store.models import AuditEvent

    with siji.service.db.read() as s:
        return s.scalars(
            select(AuditEvent).where(AuditEvent.transition == "incident_resolved").order_by(AuditEvent.id)
        ).all()


def listed(siji, query: str = "", user: str = "auditor") -> list[tuple[int, str]]:
    return [(i["id"], i["status"]) for i in siji.ok(siji.get(f"/api/incidents?{query}", user))["items"]]


def test_an_admin_marks_an_incident_handled_with_a_note_audited(siji):
    from engine.audit.chain import verify

    iid, inc = broken_case(siji)
    assert inc["status"] == "open"
    assert (inc["resolved_at"], inc["resolved_by"], inc["resolution"], inc["resolution_note"]) == (None,) * 4
    url = f"/api/incidents/{inc['id']}/resolve"

    for user in ("auditor", "analyst", "bureau", "ent_a"):
        assert siji.post(url, user, json={"note": NOTE}).status_code == 403, user
    for body in ({}, {"note": ""}, {"note": "   \n "}, {"note": "长" * 1001}, {"note": 5}, {"note": None}):
        resp = siji.post(url, "admin", json=body)
        assert resp.status_code == 422, (body, resp.get_json())
        assert resp.get_json()["error"] == "invalid" and list(resp.get_json()["fields"]) == ["note"], resp.get_json()
    resp = siji.post(url, "admin", json={"note": NOTE, "status": "resolved"})
    assert resp.status_code == 422 and "status" in resp.get_json()["fields"]
    resp = siji.post("/api/incidents/99999/resolve", "admin", json={"note": NOTE})
    assert resp.status_code == 404 and resp.get_json()["message_zh"] == "没有该故障记录"
    assert resolved_events(siji) == [] and listed(siji) == [(inc["id"], "open")]  # nothing refused was written
    assert value(scrape(siji), "siji_incidents_open") == 1

    done = siji.ok(siji.post(url, "admin", json={"note": f"  {NOTE}\n"}))
    now = siji.clock.now()
    assert datetime.fromisoformat(done["resolved_at"]) == now
    assert {k: done[k] for k in ("id", "status", "resolved_by", "resolution", "resolution_note")} == {
        "id": inc["id"],
        "status": "resolved",
        "resolved_by": "admin",
        "resolution": "manual",
        "resolution_note": NOTE,
    }
    # the rest of the incident is as it was, and the case is untouched
    assert {k: v for k, v in done.items() if k in inc and not k.startswith("resol") and k != "status"} == {
        k: v for k, v in inc.items() if not k.startswith("resol") and k != "status"
    }
    assert siji.instance(iid)["status"] == "running"

    resp = siji.post(url, "admin", json={"note": "再标记一次"})
    assert resp.status_code == 409, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "conflict" and "已处理" in body["message_zh"] and body["message_en"]
    assert (body["resolved_by"], body["resolution"]) == ("admin", "manual")

    [ev] = resolved_events(siji)  # one event: the refused second marking wrote none
    assert (ev.instance_id, ev.actor, ev.at, ev.activity_id) == (None, "admin", now, inc["activity_id"])
    assert ev.process_key == "tm_broken"
    assert ev.data == {
        "incident_id": inc["id"],
        "process_instance_id": iid,
        "command": "fire_timers",
        "resolution": "manual",
        "note": NOTE,
    }
    assert verify([ev]) == (True, None)

    m = scrape(siji)
    assert (value(m, "siji_incidents"), value(m, "siji_incidents_open")) == (1, 0)

    # the list: open ones by default, the others on request
    assert listed(siji) == [] and listed(siji, f"process_instance_id={iid}") == []
    assert listed(siji, "status=resolved") == [(inc["id"], "resolved")]
    assert listed(siji, f"status=all&process_instance_id={iid}") == [(inc["id"], "resolved")]
    assert listed(siji, f"status=open&process_instance_id={iid}") == []
    resp = siji.get("/api/incidents?status=closed", "auditor")
    assert resp.status_code == 422 and "status" in resp.get_json()["fields"]


def test_the_resolution_and_its_audit_event_commit_together(siji, monkeypatch):
    """The audit event is written in the resolution's transaction: when it cannot be written, the
    incident stays open."""
    from engine.service import incidents
    from engine.service.actor import Actor

    _, inc = broken_case(siji)

    def refuse(*a, **kw):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(incidents, "record_standalone", refuse)
    admin = Actor(id=1, username="admin", roles=frozenset({"admin"}))
    with pytest.raises(RuntimeError):
        incidents.resolve_by_hand(siji.service, admin, inc["id"], NOTE)
    monkeypatch.undo()
    assert listed(siji) == [(inc["id"], "open")] and resolved_events(siji) == []
    assert siji.ok(siji.post(f"/api/incidents/{inc['id']}/resolve", "admin", json={"note": NOTE}))["status"] == (
        "resolved"
    )
    assert len(resolved_events(siji)) == 1


def _failing_timer_case(siji, monkeypatch):
    """A one-timer case whose timer step fails for a passing reason (injected into the engine)."""
    from engine.workflow.runtime import EngineError

    siji.deploy_paths(DATA / "timers" / "tm_one")
    iid = siji.start("tm_one", "ent_a")["id"]
    engine = siji.service.engine
    real = engine.fire_timers

    def failing(*a, **kw):
        raise EngineError("数据库连接中断（注入）", "Event_Wait", "等待期满")

    monkeypatch.setattr(engine, "fire_timers", failing)
    siji.clock.advance(timedelta(minutes=2))
    assert siji.worker.run_once() == 0
    [inc] = siji.ok(siji.get(f"/api/incidents?process_instance_id={iid}", "admin"))["items"]
    return iid, inc, lambda: monkeypatch.setattr(engine, "fire_timers", real)


def test_a_timer_retry_that_succeeds_resolves_and_one_that_fails_leaves_it_open(siji, monkeypatch):
    from engine.audit.chain import verify

    iid, first, heal = _failing_timer_case(siji, monkeypatch)
    resp = siji.post(f"/api/incidents/{first['id']}/retry", "admin")
    assert resp.status_code == 422 and resp.get_json()["error"] == "engine_step_failed"
    again = resp.get_json()["incident_id"]
    # the retry failed: the incident stays open, beside the new one
    assert listed(siji, f"process_instance_id={iid}") == [(again, "open"), (first["id"], "open")]
    assert resolved_events(siji) == []

    heal()
    siji.clock.advance(timedelta(minutes=1))
    done = siji.ok(siji.post(f"/api/incidents/{first['id']}/retry", "admin"))
    assert done["status"] == "fired" and done["fired"] == 1
    assert siji.instance(iid)["status"] == "completed"  # the retried step ended the case
    items = siji.ok(siji.get(f"/api/incidents?status=all&process_instance_id={iid}", "auditor"))["items"]
    # both failures of the step are resolved by the retry, in the admin's name (not superseded
    # by the case's end in the same step)
    assert [(i["id"], i["status"], i["resolution"], i["resolved_by"]) for i in items] == [
        (again, "resolved", "retried", "admin"),
        (first["id"], "resolved", "retried", "admin"),
    ]
    assert all(datetime.fromisoformat(i["resolved_at"]) == siji.clock.now() for i in items)
    evs = resolved_events(siji)
    assert [(e.actor, e.data["incident_id"], e.data["resolution"]) for e in evs] == [
        ("admin", first["id"], "retried"),
        ("admin", again, "retried"),
    ]
    assert all(verify([e]) == (True, None) for e in evs)
    assert listed(siji) == []


def test_the_timer_workers_own_successful_retry_resolves_as_system(siji, monkeypatch):
    iid, inc, heal = _failing_timer_case(siji, monkeypatch)
    assert listed(siji) == [(inc["id"], "open")]
    heal()
    assert siji.worker.run_once() == 1
    [done] = siji.ok(siji.get("/api/incidents?status=resolved", "auditor"))["items"]
    assert (done["id"], done["resolution"], done["resolved_by"]) == (inc["id"], "retried", "system")
    assert [e.actor for e in resolved_events(siji)] == ["system"]


def test_a_case_that_ends_supersedes_its_open_incidents_and_no_others(siji):
    assert siji.deploy_files(_broken_bpmn(False)).status_code == 201
    iid, other = (siji.start("tm_broken", user)["id"] for user in ("ent_a", "ent_b"))
    siji.clock.advance(timedelta(hours=2))
    assert siji.worker.run_once() == 0
    assert siji.worker.run_once() == 0  # retried at once by a direct pass: a second incident each
    mine = [i for i, _ in listed(siji, f"process_instance_id={iid}")]
    others = listed(siji, f"process_instance_id={other}")
    assert len(mine) == len(others) == 2
    # corrected, and the first case moved to the new version: the migration ran its due step and
    # the case ended, so its incidents need no one's attention any more
    assert siji.deploy_files(_broken_bpmn(True)).status_code == 201
    moved = siji.ok(
        siji.post("/api/process-definitions/tm_broken/migrations", "admin", json={"process_instance_ids": [iid]})
    )["results"]
    assert moved[0]["moved"] is True and siji.instance(iid)["status"] == "completed"
    done = siji.ok(siji.get(f"/api/incidents?status=resolved&process_instance_id={iid}", "auditor"))["items"]
    assert [(i["id"], i["resolution"], i["resolved_by"]) for i in done] == [(i, "superseded", "system") for i in mine]
    assert listed(siji) == others  # the other case's stay open
    evs = resolved_events(siji)
    assert sorted((e.actor, e.data["incident_id"], e.data["resolution"]) for e in evs) == sorted(
        ("system", i, "superseded") for i in mine
    )
    # marking one by hand now is refused: it is resolved already
    assert siji.post(f"/api/incidents/{mine[0]}/resolve", "admin", json={"note": NOTE}).status_code == 409
