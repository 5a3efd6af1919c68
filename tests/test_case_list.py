"""The case list of supervisors and auditors (issue 15): filters by flow, status, period,
department and overdue, the same on the list and on the streamed export (which announces how many
cases follow); and an admin's retry of a failed timer step, through the core and audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from conftest import DATA
from sqlalchemy import select
from test_deadlines import DL, START

BROKEN = DATA / "timers" / "tm_broken"


def ids(siji, user, query=""):
    return [c["id"] for c in siji.ok(siji.get(f"/api/process-instances?{query}", user))["items"]]


def test_filters_narrow_the_list_and_the_export_alike(siji):
    siji.deploy_paths(DL)
    late = siji.start("dl", "ent_a", START)["id"]  # its check falls due in 2 working days
    siji.advance(timedelta(days=2))
    handled = siji.start("dl", "ent_b", START)["id"]
    siji.complete("bureau", handled, "Task_Check", {"materials_complete": True, "check_opinion": "材料齐全"})
    siji.advance(timedelta(days=5))
    fresh = siji.start("dl", "ent_b", START)["id"]
    today = siji.clock.now().astimezone(__import__("engine.audit.export", fromlist=["CHINA"]).CHINA).date()

    assert ids(siji, "auditor") == [fresh, handled, late]
    assert ids(siji, "auditor", "overdue=true") == [late]
    assert ids(siji, "auditor", "overdue=true&department=approval_bureau") == [late]
    assert ids(siji, "auditor", "overdue=true&department=fire_rescue") == []
    assert ids(siji, "auditor", "department=approval_bureau") == [fresh, handled, late]
    assert ids(siji, "auditor", "department=fire_rescue") == [handled]  # the check sent it on
    assert ids(siji, "auditor", f"from={today}") == [fresh]
    assert ids(siji, "auditor", f"to={today - timedelta(days=1)}") == [handled, late]
    assert ids(siji, "auditor", "process_key=dl&status=running&per_page=1&page=3") == [late]
    # the row rules still hold under the filters (a department's path differs from an auditor's)
    assert ids(siji, "bureau", "overdue=true") == [late]
    assert ids(siji, "bureau", f"department=approval_bureau&from={today}") == [fresh]
    assert ids(siji, "ent_b", "overdue=true") == []
    assert ids(siji, "ent_b", "department=approval_bureau") == [fresh, handled]

    resp = siji.get("/api/traces?format=csv&overdue=true&department=approval_bureau", "auditor")
    assert resp.status_code == 200 and resp.headers["X-Case-Count"] == "1"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and {r["case_id"] for r in rows} == {str(late)}
    resp = siji.get(f"/api/traces?format=xes&from={today}", "auditor")
    assert resp.headers["X-Case-Count"] == "1" and resp.get_data(as_text=True).count("<trace>") == 1

    for query, field in (
        ("department=nope", "department"),
        ("overdue=maybe", "overdue"),
        ("from=yesterday", "from/to"),
    ):
        for url in (f"/api/process-instances?{query}", f"/api/traces?{query}"):
            resp = siji.get(url, "auditor")
            assert resp.status_code == 422, (url, resp.status_code)
            assert field in resp.get_json()["fields"], (url, resp.get_json())


def _broken_bpmn(fixed: bool) -> dict[str, bytes]:
    xml = (BROKEN / "tm_broken.bpmn").read_text("utf-8")
    if fixed:  # the analyst's correction: the script no longer reads a variable nobody sets
        xml = xml.replace("result = missing_value + 1", "result = 1")
    return {
        "tm_broken.bpmn": xml.encode(),
        "tm_broken.settings.json": (BROKEN / "tm_broken.settings.json").read_bytes(),
    }


def test_a_failed_timer_step_is_retried_by_an_admin_and_audited(siji):
    assert siji.deploy_files(_broken_bpmn(False)).status_code == 201
    iid = siji.start("tm_broken", "ent_a")["id"]
    siji.clock.advance(timedelta(hours=2))
    assert siji.worker.run_once() == 0
    [inc] = siji.ok(siji.get(f"/api/incidents?process_instance_id={iid}", "auditor"))["items"]
    assert inc["command"] == "fire_timers" and inc["retryable"] is True

    assert siji.post(f"/api/incidents/{inc['id']}/retry", "auditor").status_code == 403
    # retried unchanged, it fails again: a new incident, named for the admin, and the case unchanged
    resp = siji.post(f"/api/incidents/{inc['id']}/retry", "admin")
    assert resp.status_code == 422 and resp.get_json()["error"] == "engine_step_failed", resp.get_json()
    again = resp.get_json()["incident_id"]
    assert again > inc["id"]
    assert siji.instance(iid)["status"] == "running"

    # corrected and the case moved to the new version, the migration itself ran the due step:
    # nothing is left to retry
    assert siji.deploy_files(_broken_bpmn(True)).status_code == 201
    moved = siji.ok(
        siji.post("/api/process-definitions/tm_broken/migrations", "admin", json={"process_instance_ids": [iid]})
    )["results"]
    assert moved[0]["moved"] is True, moved
    assert siji.instance(iid)["status"] == "completed"
    resp = siji.post(f"/api/incidents/{again}/retry", "admin")
    assert resp.status_code == 409 and "不在办理中" in resp.get_json()["message_zh"]
    assert siji.post("/api/incidents/99999/retry", "admin").status_code == 404


def test_a_retry_after_a_passing_failure_fires_the_timer_now(siji, monkeypatch):
    """A step that failed for a passing reason (here an engine failure injected once into the
    timer step) runs when the admin retries: the case moves on, the retry audited with the admin's name."""
    from engine.store.models import AuditEvent
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
    monkeypatch.setattr(engine, "fire_timers", real)

    done = siji.ok(siji.post(f"/api/incidents/{inc['id']}/retry", "admin"))
    assert done == {
        "incident_id": inc["id"],
        "process_instance_id": iid,
        "command": "fire_timers",
        "status": "fired",
        "fired": 1,
    }
    assert siji.instance(iid)["status"] == "completed"
    assert [e[1] for e in siji.trace(iid) if e[0] == "timer_fired"] == ["Event_Wait"]
    with siji.service.db.read() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.transition == "incident_retried")).all()
        assert [(e.actor, e.data["incident_id"], e.data["fired"]) for e in audit] == [("admin", inc["id"], 1)]
    # done once: a second retry finds the case ended
    assert siji.post(f"/api/incidents/{inc['id']}/retry", "admin").status_code == 409
