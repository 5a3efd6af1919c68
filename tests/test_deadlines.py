"""A clock on every government step (issue 14, item 5): due times in working days from the
flow's settings, shown in the inbox, reminded, marked overdue and escalated to the leading-group
office by the timer worker's deadline watch without interrupting the task, each once, with
notifications for the people concerned and audit and outbox events in the case's transaction.

Time moves through the injected clock; the worker's run_once runs the watch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import DATA
from sqlalchemy import select

DL = DATA / "deadlines"
UTC = UTC
START = {
    "enterprise_name": "示例企业有限公司",
    "project_name": "示例厂房项目",
    "project_code": "2509-370871-04-01-000001",
    "materials": [{"material_name": "营业执照"}, {"material_name": "项目备案证明"}],
}
# T0 is Friday 2025-09-26 10:00 China time. Saturday 27th is off, Sunday 28th a make-up working
# day before the National Day holiday: two working days end Monday 29th, 23:59:59 China time.
CHECK_DUE = datetime(2025, 9, 29, 15, 59, 59, tzinfo=UTC)
CHECK_REMIND = datetime(2025, 9, 28, 15, 59, 59, tzinfo=UTC)


def events(h, iid, *transitions):
    from engine.store.models import AuditEvent

    with h.service.db.read() as s:
        return [
            (e.transition, e.activity_id, e.role, e.data)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.instance_id == iid, AuditEvent.transition.in_(transitions))
                .order_by(AuditEvent.seq)
            )
        ]


def outbox_kinds(h, iid):
    from engine.store.models import OutboxEvent

    with h.service.db.read() as s:
        return [
            k
            for k in s.scalars(select(OutboxEvent.kind).where(OutboxEvent.instance_id == iid).order_by(OutboxEvent.id))
        ]


def notes(h, user, **params):
    q = "&".join(f"{k}={v}" for k, v in {"per_page": 100, **params}.items())
    return h.ok(h.get(f"/api/notifications?{q}", user))


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def chain_ok(h, iid) -> bool:
    from engine.audit.chain import verify_instance
    from engine.store.models import Instance

    with h.service.db.read() as s:
        return verify_instance(s, s.get(Instance, iid))[0]


@pytest.fixture
def dl(siji):
    siji.deploy_paths(DL)
    siji.add_user("lgo", ["leading_group_office"])
    siji.add_user("bureau2", ["approval_bureau"])
    return siji


def test_due_time_reminder_overdue_and_escalation_once(dl):
    h = dl
    iid = h.start("dl", "ent_a", START, business_key="XM-0001")["id"]
    task = h.task_for("bureau", iid, "Task_Check")
    # the inbox carries the clock and the case's names
    assert ts(task["due_at"]) == CHECK_DUE and ts(task["remind_at"]) == CHECK_REMIND
    assert (task["deadline_status"], task["deadline_status_name"]) == ("on_track", "未到期")
    assert (task["business_key"], task["display_name"], task["process_name"]) == (
        "XM-0001",
        "示例厂房项目",
        "时限测试流程",
    )
    # a new task reaches the department
    body = notes(h, "bureau")
    assert [(n["kind"], n["title"], n["task_id"]) for n in body["items"]] == [
        ("task_created", "新待办：受理审查", task["id"])
    ]
    assert body["unread"] == 1 and notes(h, "ent_a")["total"] == 0

    # one second before the reminder: nothing; then the reminder, once
    h.advance(CHECK_REMIND - h.clock.now() - timedelta(seconds=1))
    assert events(h, iid, "deadline_reminder") == []
    h.advance(timedelta(seconds=2))
    assert [(t, a, r) for t, a, r, _ in events(h, iid, "deadline_reminder")] == [
        ("deadline_reminder", "Task_Check", "approval_bureau")
    ]
    assert h.task_for("bureau", iid, "Task_Check")["deadline_status"] == "due_soon"
    assert h.task_for("bureau", iid, "Task_Check")["deadline_status_name"] == "即将到期"
    assert [n["kind"] for n in notes(h, "bureau2", unread="true")["items"]] == ["reminder", "task_created"]
    h.advance(timedelta(hours=1))
    assert len(events(h, iid, "deadline_reminder")) == 1

    # at the due time: overdue and escalated to the leading-group office, once; the task stays
    h.advance(CHECK_DUE - h.clock.now() + timedelta(seconds=1))
    got = events(h, iid, "deadline_overdue", "escalated")
    assert [(t, a, r) for t, a, r, _ in got] == [
        ("deadline_overdue", "Task_Check", "approval_bureau"),
        ("escalated", "Task_Check", "leading_group_office"),
    ]
    assert got[1][3]["to"] == "leading_group_office" and got[1][3]["interrupting"] is False
    task = h.task_for("bureau", iid, "Task_Check")
    assert task["state"] == "open" and task["deadline_status"] == "overdue" and task["overdue"] is True
    assert task["deadline_status_name"] == "已逾期" and task["escalated_at"] is not None
    lgo = notes(h, "lgo")["items"]
    assert [(n["kind"], n["title"], n["data"]["escalated_from"]) for n in lgo] == [
        ("escalation", "逾期督办：受理审查", "approval_bureau")
    ]
    assert [n["kind"] for n in notes(h, "bureau")["items"]][:2] == ["overdue", "reminder"]
    for _ in range(3):
        h.worker.run_once()
    h.advance(timedelta(days=3))
    assert len(events(h, iid, "deadline_overdue", "escalated")) == 2
    assert len(notes(h, "lgo")["items"]) == 1
    assert [k for k in outbox_kinds(h, iid) if k in ("reminder", "overdue", "escalation")] == [
        "reminder",
        "overdue",
        "escalation",
    ]
    assert chain_ok(h, iid)

    # the department still does its task
    h.complete("bureau", iid, "Task_Check", {"materials_complete": True, "check_opinion": "材料齐全"})
    assert h.instance(iid)["status"] == "running"
    report = h.ok(h.get("/api/reports/departments", "lgo"))
    bureau = [i for i in report["items"] if i["role"] == "approval_bureau" and i["process_key"] == "dl"][0]
    assert (bureau["completed"], bureau["overdue"], bureau["on_time"], bureau["escalated"]) == (1, 1, 0, 1)


def test_default_workdays_applicant_tasks_and_diagram_timers(dl):
    h = dl
    iid = h.start("dl", "ent_a", START)["id"]
    h.complete("bureau", iid, "Task_Check", {"check_opinion": "齐全"})
    fire = h.task_for("fire", iid, "Task_FireReview")
    # default_task_workdays: 5 working days from Friday 26th over the National Day holiday
    # (28th and 29th, 30th, then October 9th and 10th, Oct 1-8 being off)
    assert ts(fire["due_at"]) == datetime(2025, 10, 10, 15, 59, 59, tzinfo=UTC)
    h.complete("fire", iid, "Task_FireReview", {"fire_opinion": "符合要求"})
    supplement = h.task_for("ent_a", iid, "Task_Supplement")
    # the applicant's own step has no clock, and says so
    assert supplement["due_at"] is None and supplement["deadline_status"] == "none"
    assert supplement["deadline_status_name"] == "无时限"
    h.complete("ent_a", iid, "Task_Supplement", {"supplement_note": "无"})
    # a task the settings tie to its boundary timer: the timer is its due time, and the diagram
    # (not the watch) handles it when it passes
    decide = h.task_for("bureau", iid, "Task_Decide")
    timer = [t for t in h.instance(iid)["timers"] if t["activity_id"] == "Event_DecideLimit"][0]
    assert decide["due_at"] == timer["due_at"] and decide["remind_at"] is None
    h.advance(timedelta(days=3))
    assert events(h, iid, "deadline_overdue", "escalated") == []
    assert h.task_for("bureau", iid, "Task_Decide")["state"] == "open"
    assert h.task_for("bureau", iid, "Task_Decide")["deadline_status"] == "overdue"


def test_notifications_read_paging_and_privacy(dl):
    h = dl
    ids = [h.start("dl", "ent_a", START, business_key=f"XM-{i}")["id"] for i in range(3)]
    body = notes(h, "bureau", per_page=2)
    assert (body["total"], body["unread"], len(body["items"])) == (3, 3, 2)
    assert [n["process_instance_id"] for n in body["items"]] == [ids[2], ids[1]]  # newest first
    nid = body["items"][0]["id"]
    # another department's user cannot read or mark it
    assert h.post(f"/api/notifications/{nid}/read", "fire").status_code == 404
    marked = h.ok(h.post(f"/api/notifications/{nid}/read", "bureau"))
    assert marked["read"] is True and marked["read_at"] is not None
    # a department's notification is read for all its members
    assert notes(h, "bureau2", unread="true")["total"] == 2
    assert h.ok(h.post(f"/api/notifications/{nid}/read", "bureau2"))["read_at"] == marked["read_at"]
    assert h.get("/api/notifications", "auditor").status_code == 403
    assert h.get("/api/notifications?unread=maybe", "bureau").status_code == 422
    assert h.post("/api/notifications/999999/read", "bureau").status_code == 404


@pytest.fixture
def dl_pg(tmp_path, request):
    """PostgreSQL only: SQLite has no row locks to skip (its writers are serialized)."""
    from conftest import make_harness

    h = make_harness(request.getfixturevalue("pg_schema"), "postgres")
    h.deploy_paths(DL)
    h.add_user("lgo", ["leading_group_office"])
    yield h
    h.service.db.dispose()


def test_watch_skips_a_locked_case_and_comes_back(dl_pg):
    """SKIP LOCKED: a case a command holds is left for a later pass, not waited for."""
    h = dl_pg
    from engine.timers.deadlines import watch_deadlines

    iid = h.start("dl", "ent_a", START)["id"]
    h.clock.advance(CHECK_DUE - h.clock.now() + timedelta(seconds=1))
    with h.service.db.write() as s:
        assert h.service._lock_instance(s, iid) is not None
        assert watch_deadlines(h.service) == 0  # held by "a command": skipped, not blocked
    assert watch_deadlines(h.service) == 1
    assert watch_deadlines(h.service) == 0
    assert [t for t, *_ in events(h, iid, "deadline_overdue", "escalated", "deadline_reminder")] == [
        "deadline_overdue",
        "escalated",
    ]  # past the due time at once: no late reminder


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"task_deadlines": {"Task_Nope": 3}}, "task_deadlines.Task_Nope"),
        ({"task_deadlines": {"Task_Check": 0}}, "task_deadlines.Task_Check"),
        ({"task_deadlines": {"Task_Check": -2}}, "task_deadlines.Task_Check"),
        ({"task_deadlines": {"Task_Check": 1.5}}, "task_deadlines.Task_Check"),
        ({"task_deadlines": {"Task_Check": "Event_DecideLimit"}}, "task_deadlines.Task_Check"),
        ({"task_deadlines": ["Task_Check"]}, "task_deadlines"),
        ({"default_task_workdays": 0}, "default_task_workdays"),
        ({"deadline_reminder_workdays": -1}, "deadline_reminder_workdays"),
        ({"display_name_field": "no_such_field"}, "display_name_field"),
        ({"lookup_fields": ["no_such_field"]}, "lookup_fields"),
        ({"carry_over": {"from_process": "x"}}, "carry_over.outcomes"),
    ],
)
def test_deploy_refuses_bad_deadline_settings(siji, settings, key):
    import json

    files = {p.name: p.read_bytes() for p in [DL / "dl.bpmn"]}
    files.update({f"forms/dl/{p.name}": p.read_bytes() for p in (DL / "forms" / "dl").iterdir()})
    files["dl.settings.json"] = json.dumps(settings).encode()
    resp = siji.deploy_files(files)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    problems = resp.get_json()["problems"]
    assert key in [p["element"] for p in problems], problems
    assert all(p["file"] == "dl.settings.json" for p in problems if p["element"] == key)
