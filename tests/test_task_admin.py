"""Department supervisors reassign and release claimed tasks, claimants delegate, anyone acting on
a case comments on it: each with its reason in the case's hash-chained trace and the outbox, in
the command's transaction. Both backends."""

from __future__ import annotations

from conftest import DATA
from sqlalchemy import select
from test_inbox_filters import USCC_A

from engine.store.models import OutboxEvent


def _case(h):
    h.deploy_paths(DATA / "mini")
    h.add_user("bureau2", ["approval_bureau"])
    h.add_user("bureau_boss", ["approval_bureau", "dept_supervisor"])
    h.add_user("fire_boss", ["fire_rescue", "dept_supervisor"])
    iid = h.start("mini", "ent_a", {"enterprise_name": "x", "credit_code": USCC_A}, business_key="TA-1")["id"]
    return iid, h.task_for("bureau", iid, "Task_Review")["id"]


def _events(h, iid, transition):
    trace = h.ok(h.get(f"/api/process-instances/{iid}/trace?format=json", "auditor"))
    return [e for e in trace["events"] if e["transition"] == transition]


def _verified(h, iid):
    assert h.ok(h.get(f"/api/process-instances/{iid}/trace/verify", "auditor"))["ok"] is True


def _outbox(h, kind):
    with h.service.db.read() as s:
        return s.scalars(select(OutboxEvent).where(OutboxEvent.kind == kind)).all()


def test_supervisor_reassigns_and_releases_with_reason(siji):
    h = siji
    iid, tid = _case(h)
    h.ok(h.post(f"/api/tasks/{tid}/claim", "bureau"))
    url = f"/api/tasks/{tid}/reassign"
    assert h.post(url, "bureau2", json={"to": "bureau2", "reason": "x"}).status_code == 403  # not a supervisor
    assert h.post(url, "fire_boss", json={"to": "bureau2", "reason": "x"}).status_code == 404  # not its department
    resp = h.post(url, "bureau_boss", json={"to": "bureau2", "reason": "  "})
    assert resp.status_code == 422 and "reason" in resp.get_json()["fields"]
    resp = h.post(url, "bureau_boss", json={"to": "fire", "reason": "病假"})
    assert resp.status_code == 422 and "to" in resp.get_json()["fields"]
    assert h.ok(h.get(f"/api/tasks/{tid}", "bureau"))["assignee"] == "bureau"  # nothing changed

    body = h.ok(h.post(url, "bureau_boss", json={"to": "bureau2", "reason": "张三病假，改由李四办理"}))
    assert body["assignee"] == "bureau2"
    [ev] = _events(h, iid, "reassign")
    assert ev["actor"] == "bureau_boss" and ev["task_id"] == tid
    assert ev["data"] == {"from": "bureau", "to": "bureau2", "reason": "张三病假，改由李四办理"}
    assert h.post(url, "bureau_boss", json={"to": "bureau2", "reason": "again"}).status_code == 409

    rel = f"/api/tasks/{tid}/release"
    assert h.post(rel, "bureau2", json={"reason": "x"}).status_code == 403
    body = h.ok(h.post(rel, "bureau_boss", json={"reason": "久未办理，退回科室"}))
    assert body["assignee"] is None
    [ev] = _events(h, iid, "release")
    assert ev["data"] == {"from": "bureau2", "reason": "久未办理，退回科室"}
    assert h.post(rel, "bureau_boss", json={"reason": "x"}).status_code == 409  # not claimed now
    assert [o.task_id for o in _outbox(h, "task_reassigned")] == [tid]
    assert [o.payload["data"]["reason"] for o in _outbox(h, "task_released")] == ["久未办理，退回科室"]
    _verified(h, iid)


def test_claimant_delegates_to_a_colleague(siji):
    h = siji
    iid, tid = _case(h)
    url = f"/api/tasks/{tid}/delegate"
    assert h.post(url, "bureau", json={"to": "bureau2", "reason": "x"}).status_code == 409  # not claimed
    h.ok(h.post(f"/api/tasks/{tid}/claim", "bureau"))
    resp = h.post(url, "bureau", json={"to": "bureau", "reason": "x"})
    assert resp.status_code == 422 and "to" in resp.get_json()["fields"]
    assert h.post(url, "bureau2", json={"to": "bureau2", "reason": "x"}).status_code == 409  # not the claimant
    body = h.ok(h.post(url, "bureau", json={"to": "bureau2", "reason": "出差，请代为审查"}))
    assert body["assignee"] == "bureau2"
    [ev] = _events(h, iid, "delegate")
    assert ev["actor"] == "bureau" and ev["data"]["to"] == "bureau2" and ev["data"]["reason"] == "出差，请代为审查"
    cands = h.ok(h.get(f"/api/tasks/{tid}/candidates", "bureau2"))["items"]
    assert {c["username"] for c in cands} == {"bureau", "bureau2", "bureau_boss"}
    assert h.get(f"/api/tasks/{tid}/candidates", "fire").status_code == 404
    _verified(h, iid)


def test_comments_on_a_case(siji):
    h = siji
    iid, _ = _case(h)
    url = f"/api/process-instances/{iid}/comments"
    body = h.ok(h.post(url, "bureau", json={"text": "已电话联系企业补充材料"}), 201)
    assert body["actor"] == "bureau" and body["text"] == "已电话联系企业补充材料"
    h.ok(h.post(url, "ent_a", json={"text": "材料已于今日寄出"}), 201)
    assert h.post(url, "fire", json={"text": "x"}).status_code == 404  # cannot see the case
    assert h.post(url, "auditor", json={"text": "x"}).status_code == 403  # auditors write nothing
    resp = h.post(url, "bureau", json={"text": ""})
    assert resp.status_code == 422 and "text" in resp.get_json()["fields"]
    items = h.ok(h.get(url, "auditor"))["items"]
    assert [(c["actor"], c["text"]) for c in items] == [
        ("bureau", "已电话联系企业补充材料"),
        ("ent_a", "材料已于今日寄出"),
    ]
    assert h.get(url, "fire").status_code == 404
    assert [e["data"]["text"] for e in _events(h, iid, "comment")] == ["已电话联系企业补充材料", "材料已于今日寄出"]
    _verified(h, iid)
