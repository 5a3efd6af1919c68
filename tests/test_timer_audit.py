"""Audit completeness of timers: every ``timer_fired`` event has its ``timer_armed`` event before
it, with the same timer id and due time, and a timer row — also when the deadline had already
passed when the case reached the task, so that the timer was armed and fired within one engine
step (呼叫即回应's reminder/overdue after the 直通车 route rejoins)."""

from __future__ import annotations

from datetime import timedelta

from conftest import DATA
from sqlalchemy import select

TIMERS = DATA / "timers"


def _events(h, iid):
    from engine.store.models import AuditEvent

    with h.service.db.read() as s:
        return [
            (e.seq, e.transition, e.activity_id, e.task_id, e.data)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.instance_id == iid).order_by(AuditEvent.seq))
        ]


def _timer_rows(h, iid):
    from engine.store.models import Timer

    with h.service.db.read() as s:
        return {
            t.task_id: (t.id, t.activity_id, t.status, t.due_at, t.fired_at)
            for t in s.scalars(select(Timer).where(Timer.instance_id == iid))
        }


def check_timer_audit(h, iid) -> dict[str, list]:
    """Every fired timer was armed first, under one id and due time, and has its row; returns
    activity id -> the fired events."""
    from engine.audit.chain import verify_instance
    from engine.store.models import Instance

    events = _events(h, iid)
    rows = _timer_rows(h, iid)
    armed = {e[3]: e for e in events if e[1] == "timer_armed"}
    out: dict[str, list] = {}
    for seq, transition, activity, task_id, data in events:
        if transition != "timer_fired":
            continue
        assert task_id in armed, f"timer {activity} ({task_id}) fired without being armed: {events}"
        a = armed[task_id]
        assert a[0] < seq and a[2] == activity
        assert data.get("timer_id") and data.get("due_at"), (activity, data)
        row = rows[task_id]
        assert data["timer_id"] == row[0] and row[1] == activity
        if not data.get("cycle"):
            assert data["due_at"] == a[4]["due_at"], (a, data)
            assert row[2] == "fired" and row[4] is not None
        out.setdefault(activity, []).append(data)
    with h.service.db.read() as s:
        assert verify_instance(s, s.get(Instance, iid)) == (True, None)
    return out


def test_deadline_passed_on_arrival_is_armed_then_fired(siji):
    siji.deploy_paths(TIMERS / "tm_late")
    t0 = siji.clock.now()
    iid = siji.start("tm_late", "ent_a")["id"]
    assert _timer_rows(siji, iid) == {}  # nothing armed before the case reaches the task
    assert siji.advance(timedelta(hours=25)) == 0
    siji.complete("bureau", iid, "Task_Accept", {"opinion": "受理"})

    fired = check_timer_audit(siji, iid)
    assert "Event_Overdue" in fired
    rows = {r[1]: r for r in _timer_rows(siji, iid).values()}
    assert rows["Event_Overdue"][2] == "fired"
    assert rows["Event_Overdue"][3].replace(tzinfo=None) == (t0 + timedelta(hours=24)).replace(tzinfo=None)
    assert fired["Event_Overdue"][0]["due_at"].startswith((t0 + timedelta(hours=24)).isoformat()[:19])
    for activity in fired:
        assert rows[activity][2] == "fired"
    inst = siji.instance(iid)
    assert inst["status"] == "completed"  # the overdue end and the reminder's branch both ran
    assert siji.advance(timedelta(days=5)) == 0  # nothing left waiting to fire again
    assert check_timer_audit(siji, iid) == fired


def test_deadline_not_yet_passed_is_armed_and_fires_later(siji):
    """The ordinary path keeps one armed and one fired event per timer."""
    siji.deploy_paths(TIMERS / "tm_late")
    iid = siji.start("tm_late", "ent_a")["id"]
    siji.complete("bureau", iid, "Task_Accept", {})
    assert {r[1]: r[2] for r in _timer_rows(siji, iid).values()} == {
        "Event_Reminder": "waiting",
        "Event_Overdue": "waiting",
    }
    assert siji.advance(timedelta(hours=21)) == 1
    assert siji.advance(timedelta(hours=4)) == 1
    fired = check_timer_audit(siji, iid)
    assert sorted(fired) == ["Event_Overdue", "Event_Reminder"]
    assert all(len(v) == 1 for v in fired.values())


def test_enterprise_call_direct_route_rejoining_after_the_limit(siji):
    """呼叫即回应's 直通车: the handling limit runs from triage; when the double report rejoins
    after it, the reminder and the overdue timer are armed and fire in the same step — and the
    trail says so, with ids and due times."""
    import test_flow_enterprise_call as ec

    ec.add_users(siji, ec.USERS, ec.PAIRS)
    ec.deploy_flow(siji, ec.KEY)
    iid = ec.start_platform(siji)
    ec.register_and_triage(siji, iid, "major", "major")
    ec.do(siji, "leader", iid, "Task_ReportToLeaders", ec.leaders(siji), role="district_leader")
    assert siji.advance(timedelta(days=10)) == 0  # nothing armed yet: the join still waits
    ec.do(siji, "office", iid, "Task_FileWithOffice", ec.office(siji), role="commissioner_office")
    fired = check_timer_audit(siji, iid)
    assert ec.REMINDER in fired or ec.OVERDUE in fired, _events(siji, iid)
