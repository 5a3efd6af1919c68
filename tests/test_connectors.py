"""Service tasks through connectors: the engine waits at the task, the connector worker calls a
real local HTTP endpoint outside any transaction and completes the task with the mapped outputs;
failures after the retries open an incident, leave the case untouched, and an admin retries."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import DATA
from sqlalchemy import select

CONN = DATA / "connectors"
START = {"enterprise_name": "甲公司", "credit_code": "91350100M000100Y43"}


class Endpoint:
    """The district enterprise database, as far as the test needs it."""

    def __init__(self):
        self.calls: list[str] = []
        self.fail_next = 0
        self.answer = {"rating": "A", "company": {"registered": "2020-01-01"}}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.calls.append(self.path)
                if endpoint.fail_next:
                    endpoint.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(endpoint.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    e = Endpoint()
    yield e
    e.stop()


def registry_file(tmp_path: Path, port: int, **over) -> Path:
    conn = {
        "method": "GET",
        "url": f"http://127.0.0.1:{port}/credit/{{credit_code}}",
        "timeout": 5,
        "retries": 2,
        "backoff": 0.0,
    }
    conn.update(over)
    p = tmp_path / "connectors.json"
    p.write_text(json.dumps({"allowed_hosts": ["127.0.0.1"], "connectors": {"enterprise_db.credit": conn}}))
    return p


@pytest.fixture
def wired(siji, endpoint, tmp_path):
    from engine.connectors import load_registry
    from engine.integration.jobs import ConnectorWorker

    siji.service.connectors = load_registry(registry_file(tmp_path, endpoint.port))
    siji.deploy_paths(CONN / "svc_credit.bpmn", CONN / "forms")
    return ConnectorWorker(siji.service, name="test", sleep=lambda s: None)


def open_tasks(siji, iid):
    from engine.store.models import Task

    with siji.service.db.read() as s:
        return sorted(
            (t.activity_id, t.role)
            for t in s.scalars(select(Task).where(Task.instance_id == iid, Task.state == "open"))
        )


def case_data(siji, iid):
    from engine.store.models import Instance

    with siji.service.db.read() as s:
        inst = s.get(Instance, iid)
        pv = siji.service.version(s, inst.version_id)
        state = inst.state
    snap = siji.service.engine.snapshot(pv, state)
    return {ut.activity_id: ut.data for ut in snap.user_tasks}


def test_a_service_task_calls_its_connector_and_the_case_moves_on(siji, endpoint, wired):
    iid = siji.start("svc_credit", "ent_a", START)["id"]
    assert open_tasks(siji, iid) == [("Task_Credit", "connector")]  # the engine waits at the call
    assert siji.inbox("bureau", process_instance_id=iid) == []
    assert endpoint.calls == []  # no I/O inside the start
    assert wired.run_once() == 1
    assert endpoint.calls == ["/credit/91350100M000100Y43?purpose=%E5%BC%80%E5%8A%9E%E5%AE%A1%E6%9F%A5"]
    assert open_tasks(siji, iid) == [("Task_Review", "approval_bureau")]
    data = case_data(siji, iid)["Task_Review"]
    assert data["credit_rating"] == "A" and data["registered_at"] == "2020-01-01"
    called = [e for e in siji.trace(iid) if e[0] == "connector_called"]
    assert called == [("connector_called", "Task_Credit", "connector", "connector")]
    assert wired.run_once() == 0 and len(endpoint.calls) == 1  # once
    siji.complete("bureau", iid, "Task_Review", {"accepted": True})
    assert siji.instance(iid)["status"] == "completed"


def test_failures_after_retries_open_an_incident_and_the_admin_retries(siji, endpoint, wired):
    iid = siji.start("svc_credit", "ent_a", START)["id"]
    endpoint.fail_next = 3  # 1 try + 2 retries
    assert wired.run_once() == 0
    assert len(endpoint.calls) == 3
    assert open_tasks(siji, iid) == [("Task_Credit", "connector")]  # nothing applied
    assert "credit_rating" not in json.dumps(case_data(siji, iid))
    incidents = siji.ok(siji.get(f"/api/incidents?process_instance_id={iid}", "admin"))["items"]
    assert len(incidents) == 1 and incidents[0]["command"] == "connector"
    assert incidents[0]["activity_id"] == "Task_Credit" and "HTTP 503" in incidents[0]["message"]
    assert wired.run_once() == 0 and len(endpoint.calls) == 3  # parked: no more tries
    assert siji.post(f"/api/incidents/{incidents[0]['id']}/retry", "analyst").status_code == 403
    retried = siji.ok(siji.post(f"/api/incidents/{incidents[0]['id']}/retry", "admin"))
    assert retried["status"] == "pending" and retried["process_instance_id"] == iid
    assert siji.post(f"/api/incidents/{incidents[0]['id']}/retry", "admin").status_code == 409
    assert siji.post("/api/incidents/9999/retry", "admin").status_code == 404
    assert wired.run_once() == 1
    assert open_tasks(siji, iid) == [("Task_Review", "approval_bureau")]


def test_the_incident_is_resolved_when_the_retried_call_succeeds_and_stays_open_until_then(siji, endpoint, wired):
    """A retry re-queues the call: the incident stays open while it waits and when it fails again
    (beside the new incident); the call that succeeds resolves both, in the retrying admin's name,
    in the step's own commit."""
    from engine.audit.chain import verify
    from engine.store.models import AuditEvent

    def listed(status="all"):
        items = siji.ok(siji.get(f"/api/incidents?status={status}&process_instance_id={iid}", "admin"))["items"]
        return [(i["id"], i["status"], i["resolution"], i["resolved_by"]) for i in items]

    iid = siji.start("svc_credit", "ent_a", START)["id"]
    other = siji.start("svc_credit", "ent_b", START)["id"]
    endpoint.fail_next = 6  # both cases' calls fail after their retries
    assert wired.run_once() == 0
    [first] = [i for i, *_ in listed()]
    assert siji.ok(siji.post(f"/api/incidents/{first}/retry", "admin"))["status"] == "pending"
    assert listed() == [(first, "open", None, None)]  # queued again: not yet resolved
    endpoint.fail_next = 3
    assert wired.run_once() == 0  # the retried call fails again: a new incident, the first stays open
    again = listed()[0][0]
    assert listed() == [(again, "open", None, None), (first, "open", None, None)]
    assert siji.post(f"/api/incidents/{first}/retry", "admin").status_code == 409  # the call waits on the new one
    siji.add_user("admin2", ["admin"])
    assert siji.ok(siji.post(f"/api/incidents/{again}/retry", "admin2"))["status"] == "pending"
    assert listed("open") == [(again, "open", None, None), (first, "open", None, None)]
    assert wired.run_once() == 1
    assert open_tasks(siji, iid) == [("Task_Review", "approval_bureau")]
    assert listed() == [(again, "resolved", "retried", "admin2"), (first, "resolved", "retried", "admin2")]
    assert listed("open") == []
    # the other case's call still waits for its retry: its incident is open
    assert [
        i["status"] for i in siji.ok(siji.get(f"/api/incidents?process_instance_id={other}", "admin"))["items"]
    ] == ["open"]
    with siji.service.db.read() as s:
        evs = s.scalars(select(AuditEvent).where(AuditEvent.transition == "incident_resolved")).all()
        assert sorted((e.actor, e.data["incident_id"], e.data["resolution"]) for e in evs) == [
            ("admin2", first, "retried"),
            ("admin2", again, "retried"),
        ]
        assert all(verify([e]) == (True, None) and e.activity_id == "Task_Credit" for e in evs)


def test_an_answer_without_a_mapped_output_changes_nothing(siji, endpoint, wired):
    endpoint.answer = {"rating": "B"}  # no company.registered
    iid = siji.start("svc_credit", "ent_a", START)["id"]
    assert wired.run_once() == 0
    assert open_tasks(siji, iid) == [("Task_Credit", "connector")]
    msg = siji.ok(siji.get(f"/api/incidents?process_instance_id={iid}", "admin"))["items"][0]["message"]
    assert "company.registered" in msg


def test_deploy_refuses_unknown_or_missing_connectors_with_422(siji, endpoint, tmp_path):
    from engine.connectors import load_registry

    xml = (CONN / "svc_credit.bpmn").read_bytes()
    forms = {f"forms/svc_credit/{p.name}": p.read_bytes() for p in (CONN / "forms" / "svc_credit").iterdir()}
    resp = siji.deploy_files({"svc_credit.bpmn": xml, **forms})  # empty registry
    assert resp.status_code == 422
    problem = resp.get_json()["problems"][0]
    assert problem["element"] == "Task_Credit" and "enterprise_db.credit" in problem["message"]
    siji.service.connectors = load_registry(registry_file(tmp_path, endpoint.port))
    bare = xml.replace(b"<camunda:connectorId>enterprise_db.credit</camunda:connectorId>", b"")
    resp = siji.deploy_files({"svc_credit.bpmn": bare, **forms})
    assert resp.status_code == 422 and "connectorId" in resp.get_json()["problems"][0]["message"]
    assert siji.deploy_files({"svc_credit.bpmn": xml, **forms}).status_code == 201


def test_the_registry_is_checked(tmp_path):
    from engine.connectors import load_registry
    from engine.settings import SettingsError

    with pytest.raises(SettingsError, match="not in allowed_hosts"):
        load_registry(registry_file(tmp_path, 1, url="http://10.1.1.1/x"))
    with pytest.raises(SettingsError, match="method"):
        load_registry(registry_file(tmp_path, 1, method="TRACE"))
    with pytest.raises(SettingsError, match="SIJI_CONNECTORS"):
        load_registry(tmp_path / "missing.json")
    reg = load_registry(registry_file(tmp_path, 1))
    assert reg.names() == {"enterprise_db.credit"} and reg.get("enterprise_db.credit").placeholders() == ["credit_code"]
