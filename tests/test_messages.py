"""BPMN messages between cases and from other systems (tests/data/messages): 拿地即开工 reaching
具备开工条件 moves the 建成即使用 case of the same project on; another system's message reaches a
waiting case by business key or case variable; an unmatched message is refused (404) or kept for a
while and delivered when a case starts waiting, as configured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import DATA

MSG = DATA / "messages"


@pytest.fixture
def flows(siji):
    siji.deploy_paths(MSG / "msg_land.bpmn", MSG / "msg_build.bpmn", MSG / "forms")
    from engine.integration.messages import MessageRouter

    return MessageRouter(siji.service)


def waiting_build_case(siji, project, user="ent_b"):
    iid = siji.start("msg_build", user, {"project_code": project}, business_key=project)["id"]
    siji.complete("housing", iid, "Task_Prepare", {"guided": True})
    assert siji.instance(iid)["status"] == "running" and siji.inbox("housing", process_instance_id=iid) == []
    return iid


def task_data(siji, iid, activity):
    """The case data the ready task holds (the task page shows only its form's fields)."""
    task = siji.task_for("housing", iid, activity)
    from engine.store.models import Instance

    with siji.service.db.read() as s:
        state = s.get(Instance, iid).state
    return siji.service.engine.ready_task_data(state, task["id"])


def test_one_case_reaching_a_point_moves_another_case_of_the_same_project(siji, flows):
    build = waiting_build_case(siji, "XM-2026-001")
    other = waiting_build_case(siji, "XM-2026-002")
    land = siji.start("msg_land", "ent_a", {"project_code": "XM-2026-001"}, business_key="XM-2026-001")["id"]
    siji.complete("bureau", land, "Task_Confirm", {"permit_no": "370800202601010101"})
    assert siji.instance(land)["status"] == "completed"
    assert ("message_sent", None, "system", None) in siji.trace(land)
    assert siji.inbox("housing", process_instance_id=build) == []  # not yet: the router delivers
    assert flows.run_once() == 1
    data = task_data(siji, build, "Task_Supervise")  # the build case moved on
    assert data["construction_start"] == {"project_code": "XM-2026-001", "permit_no": "370800202601010101"}
    assert any(e[0] == "message_received" and e[1] == "Event_WaitReady" for e in siji.trace(build))
    assert siji.inbox("housing", process_instance_id=other) == []  # another project: still waiting
    assert flows.run_once() == 0


def test_another_system_sends_a_message_by_business_key_or_case_variable(siji, flows):
    siji.add_user("yct_system", ["housing_construction"])
    a = waiting_build_case(siji, "XM-2026-010")
    b = waiting_build_case(siji, "XM-2026-011")
    assert (
        siji.post("/api/messages", "ent_a", json={"name": "具备开工条件", "business_key": "XM-2026-010"}).status_code
        == 403
    )
    resp = siji.post("/api/messages", "yct_system", json={"name": "具备开工条件"})
    assert resp.status_code == 422 and "business_key" in resp.get_json()["fields"]
    out = siji.ok(
        siji.post(
            "/api/messages",
            "yct_system",
            json={
                "name": "具备开工条件",
                "business_key": "XM-2026-010",
                "payload": {"source": "一窗通"},
                "result_variable": "ready_notice",
            },
        )
    )
    assert out == {"status": "delivered", "delivered_to": [a]}
    assert task_data(siji, a, "Task_Supervise")["ready_notice"] == {"source": "一窗通"}
    out = siji.ok(
        siji.post(
            "/api/messages", "yct_system", json={"name": "具备开工条件", "correlation": {"project_code": "XM-2026-011"}}
        )
    )
    assert out["delivered_to"] == [b]
    from sqlalchemy import select

    from engine.store.models import AuditEvent

    with siji.service.db.read() as s:
        ev = s.scalar(
            select(AuditEvent).where(AuditEvent.instance_id == b, AuditEvent.transition == "message_received")
        )
    assert ev.activity_id == "Event_WaitReady" and ev.data == {"message": "具备开工条件", "sender": "yct_system"}


def test_an_unmatched_message_is_refused_by_default(siji, flows):
    waiting_build_case(siji, "XM-2026-020")
    resp = siji.post("/api/messages", "admin", json={"name": "具备开工条件", "business_key": "XM-OTHER"})
    assert resp.status_code == 404 and "name" in resp.get_json()["fields"]
    resp = siji.post("/api/messages", "admin", json={"name": "没有这个消息", "business_key": "XM-2026-020"})
    assert resp.status_code == 404


def test_an_unmatched_message_is_kept_for_the_configured_time(siji, flows):
    siji.service.settings = siji.service.settings.replace(message_ttl=3600)
    resp = siji.post("/api/messages", "admin", json={"name": "具备开工条件", "business_key": "XM-2026-030"})
    assert resp.status_code == 202
    kept = resp.get_json()
    assert kept["status"] == "kept" and kept["expires_at"]
    late = siji.post("/api/messages", "admin", json={"name": "具备开工条件", "business_key": "XM-2026-031"})
    assert late.status_code == 202
    iid = waiting_build_case(siji, "XM-2026-030")  # the case starts waiting after the message came
    assert flows.run_once() == 1
    assert siji.task_for("housing", iid, "Task_Supervise")
    siji.clock.advance(timedelta(hours=1, seconds=1))  # the other one's time runs out
    assert flows.run_once() == 0
    slow = waiting_build_case(siji, "XM-2026-031")
    assert flows.run_once() == 0
    assert siji.inbox("housing", process_instance_id=slow) == []
    from sqlalchemy import select

    from engine.store.models import PendingMessage

    with siji.service.db.read() as s:
        assert sorted(m.status for m in s.scalars(select(PendingMessage))) == ["delivered", "expired"]


def test_message_events_are_checked_at_deploy(siji):
    xml = (MSG / "msg_land.bpmn").read_text()
    forms = {f"forms/msg_land/{p.name}": p.read_bytes() for p in (MSG / "forms" / "msg_land").iterdir()}
    for bad, words in (
        (
            xml.replace(" camunda:expression=\"{'project_code': project_code, 'permit_no': permit_no}\"", ""),
            "camunda:expression",
        ),
        (xml.replace("{'project_code': project_code", "{'x': __import__('os')"), "expression refused"),
        (xml.replace('messageRef="Message_Ready" camunda', 'messageRef="Message_Nope" camunda'), "messageRef"),
    ):
        resp = siji.deploy_files({"msg_land.bpmn": bad.encode(), **forms})
        assert resp.status_code == 422, resp.get_json()
        assert any(words in p["message"] and p["element"] == "Event_NotifyReady" for p in resp.get_json()["problems"])
