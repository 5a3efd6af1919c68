"""Deadlines: every timer kind fires at its moment and not before, exactly once; working-day
deadlines across holidays; provisional deadlines recomputed when a year is loaded; the timer and
overdue lists; the shared service clock; the worker's wake-up, backlog and failure handling.

Time moves through the injected clock (``siji.advance`` fires what fell due); the few tests that
need the real clock (clock control, wake-up) use short due times and bounded waits.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import BASE_USERS, DATA, Harness, db_url_for
from sqlalchemy import func, select

TIMERS = DATA / "timers"
UTC = UTC
CHINA = timezone(timedelta(hours=8))
SECOND = timedelta(seconds=1)

# Plausible holidays and make-up working days for 2027 — TEST DATA, not the State Council's
# official schedule (which is published late in 2026).
TEST_2027 = {
    "year": 2027,
    "holidays": [
        "2027-01-01",
        "2027-02-08",
        "2027-02-09",
        "2027-02-10",
        "2027-02-11",
        "2027-02-12",
        "2027-04-05",
        "2027-05-03",
        "2027-05-04",
        "2027-05-05",
        "2027-06-09",
        "2027-09-15",
        "2027-10-01",
        "2027-10-04",
        "2027-10-05",
        "2027-10-06",
        "2027-10-07",
    ],
    "workdays": ["2027-02-20", "2027-10-09"],
}


# ---------------------------------------------------------------------------- helpers
def deploy(h, *keys):
    for key in keys:
        h.deploy_paths(TIMERS / key)


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def timers(h, iid, user="auditor"):
    return {t["activity_id"]: t for t in h.ok(h.get(f"/api/timers?process_instance_id={iid}", user))["items"]}


def events(h, iid, transition=None):
    from engine.store.models import AuditEvent

    with h.service.db.read() as s:
        q = select(AuditEvent).where(AuditEvent.instance_id == iid).order_by(AuditEvent.seq)
        if transition:
            q = q.where(AuditEvent.transition == transition)
        return [(e.transition, e.activity_id, e.actor, e.data, e.task_id) for e in s.scalars(q)]


def fired(h, iid, activity_id):
    return [e for e in events(h, iid, "timer_fired") if e[1] == activity_id]


def advance_to(h, when: datetime) -> int:
    return h.advance(when - h.clock.now())


def task_state(h, task_id):
    return h.ok(h.get(f"/api/tasks/{task_id}", "auditor"))["state"]


def chain_ok(h, iid) -> bool:
    from engine.audit.chain import verify_instance
    from engine.store.models import Instance

    with h.service.db.read() as s:
        return verify_instance(s, s.get(Instance, iid))[0]


def real_clock_harness(url: str, backend: str, config: dict | None = None) -> Harness:
    """Like conftest.make_harness but with the real clock (SystemClock, offset shared through the
    database) — what `siji serve` runs."""
    from api.app import create_app
    from engine.service.build import build_service
    from engine.settings import Settings
    from engine.timers.worker import TimerWorker

    svc = build_service(Settings(database_url=url), migrate=True)
    app = create_app({"TESTING": True, **(config or {})}, service=svc)
    h = Harness(app, app.test_client(), svc, svc.clock, TimerWorker(svc, name="test"), backend)
    for name, roles in BASE_USERS.items():
        h.add_user(name, roles)
    return h


@pytest.fixture
def siji_2026(backend, tmp_path, request):
    """The harness on Monday 2026-12-28, 10:00 China time: the calendar package knows 2026, not 2027
    (tokens are issued then, so they are valid)."""
    from conftest import make_harness

    h = make_harness(db_url_for(backend, tmp_path, request), backend, start=datetime(2026, 12, 28, 10, 0, tzinfo=CHINA))
    yield h
    h.service.db.dispose()


@pytest.fixture
def siji_real(backend, tmp_path, request):
    url = db_url_for(backend, tmp_path, request)
    h = real_clock_harness(url, backend, {"SIJI_ALLOW_CLOCK_CONTROL": True})
    h.url = url
    yield h
    h.worker.stop()
    h.service.db.dispose()


# ---------------------------------------------------------------------------- timer kinds
def test_boundary_reminder_fires_once_and_deadline_escalates(siji):
    siji.add_user("office", ["leading_group_office"])
    deploy(siji, "tm_boundary")
    t0 = siji.clock.now()
    iid = siji.start("tm_boundary", "ent_a")["id"]
    tm = timers(siji, iid)
    assert ts(tm["Event_Reminder"]["due_at"]) == t0 + timedelta(hours=24)
    assert ts(tm["Event_Deadline"]["due_at"]) == t0 + timedelta(days=3)
    assert {t["status"] for t in tm.values()} == {"waiting"}
    assert not any(t["provisional"] for t in tm.values())
    task = siji.task_for("bureau", iid, "Task_Review")
    assert ts(task["due_at"]) == t0 + timedelta(days=3)  # the interrupting deadline, not the reminder

    # the reminder: not a second early, then once, and the task stays open
    assert advance_to(siji, t0 + timedelta(hours=24) - SECOND) == 0
    assert fired(siji, iid, "Event_Reminder") == []
    assert advance_to(siji, t0 + timedelta(hours=24) + SECOND) == 1
    assert len(fired(siji, iid, "Event_Reminder")) == 1
    assert timers(siji, iid)["Event_Reminder"]["status"] == "fired"
    assert task_state(siji, task["id"]) == "open"
    assert siji.task_for("bureau", iid, "Task_Review")["id"] == task["id"]
    assert [e[1] for e in events(siji, iid, "script")] == ["Script_Remind"]

    # the deadline: not a second early; the reminder never fires again
    assert advance_to(siji, t0 + timedelta(days=3) - SECOND) == 0
    assert len(fired(siji, iid, "Event_Reminder")) == 1
    assert task_state(siji, task["id"]) == "open"
    assert advance_to(siji, t0 + timedelta(days=3) + SECOND) == 1

    # the deadline cancelled the review and took the escalation path
    assert task_state(siji, task["id"]) == "cancelled"
    assert siji.inbox("bureau") == []
    esc = siji.task_for("office", iid, "Task_Escalate")
    trace = [(e[0], e[1]) for e in events(siji, iid)]
    i_fired = trace.index(("timer_fired", "Event_Deadline"))
    assert trace.index(("cancel", "Task_Review")) > i_fired
    assert trace.index(("scheduled", "Task_Escalate")) > i_fired
    tm = timers(siji, iid)
    assert tm["Event_Deadline"]["status"] == "fired" and ts(tm["Event_Deadline"]["fired_at"]) > ts(
        tm["Event_Deadline"]["due_at"]
    )
    assert [e[3]["timer_id"] for e in fired(siji, iid, "Event_Deadline")] == [tm["Event_Deadline"]["id"]]
    assert siji.advance(timedelta(days=30)) == 0
    siji.complete("office", iid, "Task_Escalate", {"opinion": "已督办"})
    assert esc["role"] == "leading_group_office"
    assert siji.instance(iid)["outcome"]["id"] == "End_Escalated"
    assert chain_ok(siji, iid)


def test_completing_before_the_deadline_cancels_its_timers(siji):
    deploy(siji, "tm_boundary")
    t0 = siji.clock.now()
    iid = siji.start("tm_boundary", "ent_a")["id"]
    siji.complete("bureau", iid, "Task_Review", {"opinion": "同意"})
    tm = timers(siji, iid)
    assert {a: t["status"] for a, t in tm.items()} == {"Event_Reminder": "cancelled", "Event_Deadline": "cancelled"}
    cancelled = events(siji, iid, "timer_cancelled")
    assert sorted((e[1], e[4]) for e in cancelled) == sorted((a, t["task_id"]) for a, t in tm.items())
    assert siji.instance(iid)["outcome"]["id"] == "End_Done"
    assert siji.ok(siji.get(f"/api/timers?process_instance_id={iid}&status=waiting", "auditor"))["total"] == 0
    assert siji.advance(timedelta(days=10)) == 0
    assert events(siji, iid, "timer_fired") == []

    # after the reminder fired, completing cancels only the deadline
    iid = siji.start("tm_boundary", "ent_a")["id"]
    assert advance_to(siji, siji.clock.now() + timedelta(hours=25)) == 1
    siji.complete("bureau", iid, "Task_Review", {})
    tm = timers(siji, iid)
    assert (tm["Event_Reminder"]["status"], tm["Event_Deadline"]["status"]) == ("fired", "cancelled")
    assert [e[1] for e in events(siji, iid, "timer_cancelled")] == ["Event_Deadline"]
    assert t0 < siji.clock.now()


def test_intermediate_catch_event(siji):
    deploy(siji, "tm_catch")
    t0 = siji.clock.now()
    iid = siji.start("tm_catch", "ent_a")["id"]
    tm = timers(siji, iid)["Event_NoticePeriodEnds"]
    assert ts(tm["due_at"]) == t0 + timedelta(days=5) and tm["status"] == "waiting"
    assert siji.inbox("bureau") == []
    assert advance_to(siji, t0 + timedelta(days=5) - SECOND) == 0
    assert siji.inbox("bureau") == []
    assert advance_to(siji, t0 + timedelta(days=5) + SECOND) == 1
    assert [t["activity_id"] for t in siji.inbox("bureau")] == ["Task_Followup"]
    assert timers(siji, iid)["Event_NoticePeriodEnds"]["status"] == "fired"
    assert len(fired(siji, iid, "Event_NoticePeriodEnds")) == 1
    siji.complete("bureau", iid, "Task_Followup", {})
    assert siji.instance(iid)["status"] == "completed"


def test_timer_start_event(siji):
    deploy(siji, "tm_start")
    t0 = siji.clock.now()
    inst = siji.start("tm_start", "ent_a")
    iid = inst["id"]
    assert [a["id"] for a in inst["active_activities"]] == ["Event_PlannedStart"]
    assert ts(timers(siji, iid)["Event_PlannedStart"]["due_at"]) == t0 + timedelta(days=2)
    assert advance_to(siji, t0 + timedelta(days=2) - SECOND) == 0
    assert siji.inbox("bureau") == []
    assert advance_to(siji, t0 + timedelta(days=2) + SECOND) == 1
    assert [t["activity_id"] for t in siji.inbox("bureau")] == ["Task_Check"]
    assert siji.advance(timedelta(days=7)) == 0
    assert len(fired(siji, iid, "Event_PlannedStart")) == 1


def test_cycle_reminder_runs_three_rounds(siji):
    deploy(siji, "tm_cycle")
    t0 = siji.clock.now()
    iid = siji.start("tm_cycle", "ent_a")["id"]
    task = siji.task_for("bureau", iid, "Task_Review")
    assert task["due_at"] is None  # a non-interrupting reminder is not a deadline
    timer_id = timers(siji, iid)["Event_HourlyReminder"]["id"]
    for k in (1, 2, 3):
        due = t0 + timedelta(hours=k)
        assert ts(timers(siji, iid)["Event_HourlyReminder"]["due_at"]) == due
        assert advance_to(siji, due - SECOND) == 0
        assert advance_to(siji, due + SECOND) == 1
        rounds = fired(siji, iid, "Event_HourlyReminder")
        assert [ts(e[3]["due_at"]) for e in rounds] == [t0 + timedelta(hours=i) for i in range(1, k + 1)]
        assert {e[3]["timer_id"] for e in rounds} == {timer_id} and all(e[3]["cycle"] for e in rounds)
        assert task_state(siji, task["id"]) == "open"
        assert timers(siji, iid)["Event_HourlyReminder"]["status"] == ("waiting" if k < 3 else "fired")
    assert len(events(siji, iid, "script")) == 3
    assert siji.advance(timedelta(hours=10)) == 0
    assert len(fired(siji, iid, "Event_HourlyReminder")) == 3
    siji.complete("bureau", iid, "Task_Review", {})
    assert siji.instance(iid)["status"] == "completed"
    assert events(siji, iid, "timer_cancelled") == []  # the exhausted cycle was not "cancelled"

    # a worker that was down for five hours fires the three rounds once each, in order
    t1 = siji.clock.now()
    iid = siji.start("tm_cycle", "ent_a")["id"]
    assert siji.advance(timedelta(hours=5)) == 3
    assert [ts(e[3]["due_at"]) for e in fired(siji, iid, "Event_HourlyReminder")] == [
        t1 + timedelta(hours=i) for i in (1, 2, 3)
    ]
    assert chain_ok(siji, iid)


# ---------------------------------------------------------------------------- working days
def test_five_working_days_across_national_day(siji):
    deploy(siji, "tm_workdays")
    # Sunday 2025-09-28, 10:00 China time (itself a make-up working day). Counting from the next
    # day: 29 Sep, 30 Sep, [1–8 Oct National Day and Mid-Autumn], 9 Oct, 10 Oct, 11 Oct (Saturday,
    # a make-up working day) → the deadline is the end of 11 October, China time.
    siji.clock.set(datetime(2025, 9, 28, 10, 0, tzinfo=CHINA))
    iid = siji.start("tm_workdays", "ent_a")["id"]
    expected = datetime(2025, 10, 11, 23, 59, 59, tzinfo=CHINA)
    tm = timers(siji, iid)["Event_Deadline"]
    assert ts(tm["due_at"]) == expected and tm["due_at"].endswith(("+00:00", "Z"))  # stored in UTC
    assert tm["provisional"] is False
    armed = events(siji, iid, "timer_armed")[0][3]
    assert ts(armed["due_at"]) == expected and armed["provisional"] is False
    assert ts(siji.task_for("bureau", iid, "Task_Review")["due_at"]) == expected
    assert advance_to(siji, expected - SECOND) == 0
    assert advance_to(siji, expected + SECOND) == 1
    assert siji.instance(iid)["outcome"]["id"] == "End_Late"


def test_deadline_in_an_unknown_year_is_provisional_and_recomputed(siji_2026):
    siji = siji_2026
    deploy(siji, "tm_workdays")
    iid = siji.start("tm_workdays", "ent_a")["id"]
    # weekends only for 2027: 29, 30, 31 Dec, Fri 1 Jan 2027, Mon 4 Jan
    provisional_due = datetime(2027, 1, 4, 23, 59, 59, tzinfo=CHINA)
    tm = timers(siji, iid)["Event_Deadline"]
    assert ts(tm["due_at"]) == provisional_due and tm["provisional"] is True
    armed = events(siji, iid, "timer_armed")[0][3]
    assert armed["provisional"] is True and ts(armed["due_at"]) == provisional_due
    assert ts(siji.task_for("bureau", iid, "Task_Review")["due_at"]) == provisional_due

    # loading the year: admins only, consistent data only
    assert siji.post("/api/admin/calendar", "analyst", json=TEST_2027).status_code == 403
    assert siji.post("/api/admin/calendar", "auditor", json=TEST_2027).status_code == 403
    bad = dict(TEST_2027, holidays=TEST_2027["holidays"] + ["2028-01-03"])
    assert siji.post("/api/admin/calendar", "admin", json=bad).status_code == 422
    both = dict(TEST_2027, workdays=["2027-01-01"])
    assert siji.post("/api/admin/calendar", "admin", json=both).status_code == 422
    assert timers(siji, iid)["Event_Deadline"]["provisional"] is True  # nothing changed

    body = siji.ok(siji.post("/api/admin/calendar", "admin", json=TEST_2027))
    assert body == {"year": 2027, "recomputed_timers": 1}
    # 1 Jan 2027 is a holiday in the loaded data: the fifth working day is Tuesday 5 Jan
    recomputed_due = datetime(2027, 1, 5, 23, 59, 59, tzinfo=CHINA)
    tm = timers(siji, iid)["Event_Deadline"]
    assert ts(tm["due_at"]) == recomputed_due and tm["provisional"] is False and tm["status"] == "waiting"
    ev = events(siji, iid, "timer_recomputed")
    assert len(ev) == 1 and ev[0][2] == "admin"
    assert ts(ev[0][3]["old_due_at"]) == provisional_due and ts(ev[0][3]["due_at"]) == recomputed_due
    assert ev[0][3]["provisional"] is False and ev[0][3]["timer_id"] == tm["id"]
    assert ts(siji.task_for("bureau", iid, "Task_Review")["due_at"]) == recomputed_due
    # loading the same data again changes nothing
    assert siji.ok(siji.post("/api/admin/calendar", "admin", json=TEST_2027))["recomputed_timers"] == 0

    # the engine's own state moved too: nothing fires at the old date
    assert advance_to(siji, provisional_due + SECOND) == 0
    assert advance_to(siji, recomputed_due - SECOND) == 0
    assert advance_to(siji, recomputed_due + SECOND) == 1
    assert siji.instance(iid)["outcome"]["id"] == "End_Late"
    assert chain_ok(siji, iid)

    # a deadline armed now that 2027 is known is not provisional
    siji.clock.set(datetime(2026, 12, 28, 10, 0, tzinfo=CHINA))
    iid2 = siji.start("tm_workdays", "ent_a")["id"]
    tm = timers(siji, iid2)["Event_Deadline"]
    assert ts(tm["due_at"]) == recomputed_due and tm["provisional"] is False


def test_calendar_cli_recomputes(siji_2026, tmp_path, monkeypatch):
    from engine.cli import main as cli

    siji = siji_2026
    deploy(siji, "tm_workdays")
    iid = siji.start("tm_workdays", "ent_a")["id"]
    assert timers(siji, iid)["Event_Deadline"]["provisional"] is True
    f = tmp_path / "2027.json"
    f.write_text(json.dumps(TEST_2027), encoding="utf-8")
    monkeypatch.setenv("SIJI_DATABASE_URL", str(siji.service.db.url))
    assert cli.main(["calendar", "load", str(f)]) == 0
    tm = timers(siji, iid)["Event_Deadline"]
    assert tm["provisional"] is False and ts(tm["due_at"]) == datetime(2027, 1, 5, 23, 59, 59, tzinfo=CHINA)
    assert events(siji, iid, "timer_recomputed")[0][2] == "cli"


def test_other_processes_follow_a_loaded_year(siji_2026):
    """Process A arms a 2027 deadline after process B loaded 2027 but before A saw it; A's timer
    worker reloads the calendar (shared calendar version) and recomputes that deadline."""
    from engine.clock import FixedClock
    from engine.service.build import build_service
    from engine.service.calendar_years import store_year
    from engine.settings import Settings
    from engine.timers.worker import TimerWorker

    siji = siji_2026
    deploy(siji, "tm_workdays")
    # process A follows the shared calendar version; B is another process on the same database
    a = build_service(Settings(database_url=siji.service.db.url), clock=siji.clock, shared_clock=True)
    b = build_service(Settings(database_url=siji.service.db.url), clock=FixedClock(siji.clock.now()))
    try:
        from datetime import date

        assert (
            store_year(
                b,
                2027,
                [date.fromisoformat(d) for d in TEST_2027["holidays"]],
                [date.fromisoformat(d) for d in TEST_2027["workdays"]],
                "admin",
            )
            == 0
        )
        iid = siji.start("tm_workdays", "ent_a")["id"]  # A still has the old calendar
        assert timers(siji, iid)["Event_Deadline"]["provisional"] is True
        worker = TimerWorker(a, name="a")
        thread = worker.start_thread()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and timers(siji, iid)["Event_Deadline"]["provisional"]:
            time.sleep(0.05)
        worker.stop()
        thread.join(timeout=5)
        tm = timers(siji, iid)["Event_Deadline"]
        assert tm["provisional"] is False
        assert ts(tm["due_at"]) == datetime(2027, 1, 5, 23, 59, 59, tzinfo=CHINA)
        ev = events(siji, iid, "timer_recomputed")
        assert len(ev) == 1 and ev[0][2] == "system"
        assert a.engine.calendar.loaded_years() == [2027]
    finally:
        b.db.dispose()


# ---------------------------------------------------------------------------- lists
def test_timer_list_filters_and_access(siji):
    deploy(siji, "tm_boundary", "tm_catch")
    t0 = siji.clock.now()
    i1 = siji.start("tm_boundary", "ent_a")["id"]
    i2 = siji.start("tm_catch", "ent_b")["id"]
    for user in ("bureau", "ent_a", "analyst", "fire"):
        assert siji.get("/api/timers", user).status_code == 403, user
    for user in ("auditor", "admin"):
        items = siji.ok(siji.get("/api/timers", user))["items"]
        assert [(t["process_instance_id"], t["activity_id"]) for t in items] == [
            (i1, "Event_Reminder"),
            (i1, "Event_Deadline"),
            (i2, "Event_NoticePeriodEnds"),
        ]  # by due time
        for t in items:
            assert {"id", "process_instance_id", "activity_id", "due_at", "status"} <= set(t)
            assert t["status"] == "waiting"
    before = (t0 + timedelta(days=4)).isoformat()
    q = siji.ok(siji.get(f"/api/timers?due_before={before.replace('+', '%2B')}", "auditor"))
    assert q["total"] == 2 and {t["process_instance_id"] for t in q["items"]} == {i1}
    q = siji.ok(siji.get(f"/api/timers?due_before={before.replace('+', '%2B')}&process_instance_id={i2}", "auditor"))
    assert q["total"] == 0
    q = siji.ok(siji.get(f"/api/timers?process_instance_id={i2}", "admin"))
    assert [t["activity_id"] for t in q["items"]] == ["Event_NoticePeriodEnds"]
    # one case's timers are read whole and paged in the same order
    pages = [
        siji.ok(siji.get(f"/api/timers?process_instance_id={i1}&per_page=1&page={p}", "auditor")) for p in (1, 2, 3)
    ]
    assert [q["total"] for q in pages] == [2, 2, 2]
    assert [t["activity_id"] for q in pages for t in q["items"]] == ["Event_Reminder", "Event_Deadline"]
    assert siji.get("/api/timers?due_before=not-a-date", "auditor").status_code == 422
    siji.advance(timedelta(days=6))
    statuses = {
        (t["process_instance_id"], t["activity_id"]): t["status"]
        for t in siji.ok(siji.get("/api/timers?per_page=100", "auditor"))["items"]
    }
    assert statuses == {
        (i1, "Event_Reminder"): "fired",
        (i1, "Event_Deadline"): "fired",
        (i2, "Event_NoticePeriodEnds"): "fired",
    }
    assert siji.ok(siji.get("/api/timers?status=waiting", "auditor"))["total"] == 0


def test_inbox_sorted_by_due_and_overdue(siji):
    deploy(siji, "tm_workdays", "tm_boundary", "tm_start")
    t0 = siji.clock.now()  # Friday 26 Sep 2025, 10:00 China
    late = siji.start("tm_workdays", "ent_a")["id"]  # 5 working days → 10 Oct
    soon = siji.start("tm_boundary", "ent_a")["id"]  # 3 days → 29 Sep
    nodue = siji.start("tm_start", "ent_a")["id"]
    siji.advance(timedelta(days=2) + SECOND)  # Task_Check appears, without a deadline
    inbox = siji.inbox("bureau")
    assert [t["process_instance_id"] for t in inbox] == [soon, late, nodue]
    assert [t["due_at"] is None for t in inbox] == [False, False, True]
    assert siji.inbox("bureau", overdue="true") == []
    # the deadline passes while no worker runs: the task is overdue until the timer fires
    siji.clock.advance(timedelta(days=1) + SECOND)
    over = siji.inbox("bureau", overdue="true")
    assert [(t["process_instance_id"], t["overdue"]) for t in over] == [(soon, True)]
    assert [t["process_instance_id"] for t in siji.inbox("bureau", overdue="false")] == [late, nodue]
    assert [t["process_instance_id"] for t in siji.inbox("auditor", overdue="true")] == [soon]
    assert siji.worker.run_once() == 1  # the deadline (the reminder fired on day 1)
    assert siji.inbox("bureau", overdue="true") == []
    assert [t["process_instance_id"] for t in siji.inbox("bureau")] == [late, nodue]
    assert t0 < siji.clock.now()


# ---------------------------------------------------------------------------- the service clock
def test_clock_control(siji_real, monkeypatch):
    from api.app import create_app
    from engine.service.build import build_service
    from engine.settings import Settings

    h = siji_real
    # off unless SIJI_ALLOW_CLOCK_CONTROL=1
    monkeypatch.delenv("SIJI_ALLOW_CLOCK_CONTROL", raising=False)
    default_app = create_app({"TESTING": True}, service=h.service)
    assert default_app.config["SIJI_ALLOW_CLOCK_CONTROL"] is False
    r = default_app.test_client().post("/api/admin/clock", headers=h.headers("admin"), json={"advance": "P7D"})
    assert r.status_code == 403
    assert h.post("/api/admin/clock", "auditor", json={"advance": "P7D"}).status_code == 403
    assert h.post("/api/admin/clock", "bureau", json={"advance": "P7D"}).status_code == 403
    assert h.post("/api/admin/clock", "admin", json={"advance": "seven days"}).status_code == 422
    assert h.service.clock.offset == timedelta(0)

    deploy(h, "tm_boundary")
    iid = h.start("tm_boundary", "ent_a")["id"]
    assert h.worker.run_once() == 0

    before = datetime.now(UTC)
    body = h.ok(h.post("/api/admin/clock", "admin", json={"advance": "P1DT1M"}))
    assert body["offset_seconds"] == 86460
    now = ts(body["now"])
    assert timedelta(days=1, minutes=1) <= now - before < timedelta(days=1, minutes=1, seconds=30)
    seen = h.ok(h.get("/api/admin/clock", "auditor"))
    assert ts(seen["now"]) - datetime.now(UTC) > timedelta(days=1)
    # stored in the database: another process sees it
    other = build_service(Settings(database_url=h.url))  # refreshes its clock from the database
    try:
        assert other.clock.offset == timedelta(seconds=86460)
        # audited
        from engine.store.models import AuditEvent

        with h.service.db.read() as s:
            ev = s.scalars(select(AuditEvent).where(AuditEvent.transition == "clock_advanced")).all()
        assert [(e.actor, e.data["advance"], e.data["offset_seconds"]) for e in ev] == [("admin", "P1DT1M", 86460)]
        # the reminder (due after 24 h) became due and fires on the next worker pass
        assert h.worker.run_once() == 1
        tm = timers(h, iid)
        assert (tm["Event_Reminder"]["status"], tm["Event_Deadline"]["status"]) == ("fired", "waiting")
        # another process moved the clock meanwhile: advances add to the stored offset
        from engine.service.clock_sync import store_offset

        with other.db.write() as s:
            store_offset(s, 86460 + 3600)
        body = h.ok(h.post("/api/admin/clock", "admin", json={"advance": "P2D"}))
        assert body["offset_seconds"] == 86460 + 3600 + 2 * 86400
        assert h.worker.run_once() == 1  # the 3-day deadline
        assert timers(h, iid)["Event_Deadline"]["status"] == "fired"
    finally:
        other.db.dispose()


# ---------------------------------------------------------------------------- the worker
def test_worker_wakes_when_a_command_arms_an_earlier_timer(siji_real, monkeypatch):
    """The worker sleeps until the next due time; a command in the same process that arms an
    earlier timer wakes it. With MAX_SLEEP raised to 30 s only that wake-up can fire in time."""
    from engine.timers import worker as timers_mod

    monkeypatch.setattr(timers_mod, "MAX_SLEEP", 30.0)
    h = siji_real
    deploy(h, "tm_one")
    h.start("tm_one", "ent_a", {"delay_seconds": 3600})  # the worker's next due time is an hour away
    thread = h.worker.start_thread()
    time.sleep(0.3)  # let it fall asleep
    t0 = time.monotonic()
    iid = h.start("tm_one", "ent_a", {"delay_seconds": 1})["id"]
    status = None
    while time.monotonic() - t0 < 10:
        status = timers(h, iid)["Event_Wait"]
        if status["status"] == "fired":
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    h.worker.stop()
    thread.join(timeout=5)
    assert status["status"] == "fired", status
    assert elapsed < 5, elapsed
    assert ts(status["fired_at"]) - ts(status["due_at"]) < timedelta(seconds=2)


def test_backlog_drains_without_starving_commands(siji):
    from engine.service.actor import Actor
    from engine.store.models import Timer, User

    deploy(siji, "tm_one", "tm_boundary")
    with siji.service.db.read() as s:
        uid = s.scalar(select(User.id).where(User.username == "ent_a"))
    ent = Actor(uid, "ent_a", frozenset({"applicant"}))
    n = 200
    ids = [siji.service.start(ent, "tm_one", None, {"delay_seconds": 60}) for _ in range(n)]
    siji.clock.advance(timedelta(minutes=5))  # the worker was down

    def waiting() -> int:
        with siji.service.db.read() as s:
            return s.scalar(select(func.count(Timer.id)).where(Timer.instance_id.in_(ids), Timer.status == "waiting"))

    assert waiting() == n
    thread = siji.worker.start_thread()
    latencies, backlog_seen = [], []
    try:
        for _ in range(5):
            t = time.perf_counter()
            new = siji.start("tm_boundary", "ent_b")["id"]
            siji.complete("bureau", new, "Task_Review", {})
            latencies.append(time.perf_counter() - t)
            backlog_seen.append(waiting())
        deadline = time.monotonic() + 60
        while waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        siji.worker.stop()
        thread.join(timeout=10)
    assert waiting() == 0
    # every command finished while the backlog was still draining (a starved command would have
    # waited for the whole backlog: the first one would see 0 left)
    assert backlog_seen[-1] > 0, f"commands waited for the backlog: {latencies}, {backlog_seen}"
    assert max(latencies) < 5, latencies
    with siji.service.db.read() as s:
        from engine.store.models import AuditEvent

        per_timer = s.execute(
            select(AuditEvent.instance_id, func.count())
            .where(AuditEvent.instance_id.in_(ids), AuditEvent.transition == "timer_fired")
            .group_by(AuditEvent.instance_id)
        ).all()
    assert len(per_timer) == n and {c for _, c in per_timer} == {1}


def test_failing_firing_is_retried_with_a_delay_not_in_a_loop(siji):
    deploy(siji, "tm_broken")
    iid = siji.start("tm_broken", "ent_a")["id"]
    before = siji.instance(iid)

    def incidents():
        return siji.ok(siji.get(f"/api/incidents?process_instance_id={iid}", "auditor"))["total"]

    w = siji.worker
    w.monotonic = lambda: 1000.0  # the back-off's own clock stands still: no race with the test's pace
    siji.clock.advance(timedelta(hours=2))
    assert siji.worker.run_once() == 0
    assert incidents() == 1
    assert timers(siji, iid)["Event_Wait"]["status"] == "waiting"  # the failed firing wrote nothing
    assert siji.instance(iid) == before
    assert w.run_once(backoff=True) == 0 and incidents() == 2
    assert w.run_once(backoff=True) == 0 and incidents() == 2  # backing off: not retried at once
    assert w._sleep_time() >= 0.1  # and the loop does not spin on it
    assert w.run_once() == 0 and incidents() == 3  # a direct pass still tries
    assert events(siji, iid, "timer_fired") == []
