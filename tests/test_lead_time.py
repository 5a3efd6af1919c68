"""Waiting vs working per activity from the audit trail (/api/reports/flows), the same figures
from the simulator, and service times calibrated from an exported trace (issue 18, item 3).
Real cases through the HTTP API on SQLite and PostgreSQL, the clock moved by the test."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from conftest import DATA
from test_reports import MINI, mini_timeline, row

from engine.simulation.calibrate import TraceError, calibrate, fit
from engine.simulation.process import compile_process
from engine.simulation.runner import Simulation
from engine.simulation.settings import parse

SIM = DATA / "sim"
H = 3600.0


def activities(siji, key):
    siji.add_user("lgo", ["leading_group_office"])
    body = siji.ok(siji.get("/api/reports/flows", "lgo"))
    return {a["activity_id"]: a for a in row(body["items"], process_key=key)["activities"]}


def test_flows_report_waiting_and_working_per_activity(siji):
    siji.deploy_paths(MINI)
    mini_timeline(siji)
    acts = activities(siji, "mini")
    review = acts["Task_Review"]
    # A claimed after 1 h, done 4 h later; B1 (24 h), B2 (49 h) and C (73 h) never claimed: they
    # waited 0 and worked creation → completion; D was cancelled by its deadline; E is open.
    assert (review["completed"], review["cancelled"]) == (4, 1)
    assert review["role"] == "approval_bureau"
    assert review["waiting_hours"]["mean"] == pytest.approx(0.25)
    assert review["waiting_hours"]["p90"] == pytest.approx(0.7)
    assert review["working_hours"]["mean"] == pytest.approx((4 + 24 + 49 + 73) / 4)
    assert review["working_hours"]["median"] == pytest.approx(36.5)
    assert review["working_hours"]["p90"] == pytest.approx(49 + 0.7 * 24)
    assert review["waiting_share"] == pytest.approx(1 / 151, abs=1e-4)
    correct = acts["Task_Correct"]
    assert correct["role"] == "applicant" and correct["completed"] == 1
    assert correct["working_hours"]["mean"] == pytest.approx(2)


def test_time_released_back_to_the_pool_counts_as_waiting(siji):
    siji.deploy_paths(MINI)
    case = siji.start("mini", "ent_a", {"enterprise_name": "甲公司", "credit_code": "91350100M000100Y43"})["id"]
    task = siji.task_for("bureau", case, "Task_Review")
    siji.advance(timedelta(hours=1))
    siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", "bureau"))
    siji.advance(timedelta(hours=1))
    siji.ok(siji.post(f"/api/tasks/{task['id']}/unclaim", "bureau"))
    siji.advance(timedelta(hours=2))
    siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", "bureau"))
    siji.advance(timedelta(hours=3))
    siji.complete("bureau", case, "Task_Review", {"complete": True})
    review = activities(siji, "mini")["Task_Review"]
    assert review["waiting_hours"]["mean"] == pytest.approx(4)
    assert review["working_hours"]["mean"] == pytest.approx(3)


def run_seq_cases(siji, hours_a: list[float], hours_b: list[float], wait: float = 0.0):
    """sim_seq cases through the API: each task waits ``wait`` hours, is claimed, and is done the
    given hours later (the clock moves; one case after the other)."""
    siji.deploy_paths(SIM / "sim_seq.bpmn", SIM / "forms")
    siji.add_user("tax", ["tax_bureau"])
    for i, (a, b) in enumerate(zip(hours_a, hours_b)):
        case = siji.start("sim_seq", "ent_a", {})["id"]
        for user, activity, hours, data in (
            ("bureau", "Task_A", a, {"task_a_done": True, "task_a_no": f"ZQ20250926-{100 + i}"}),
            ("tax", "Task_B", b, {"task_b_done": True, "task_b_no": f"ZQ20250926-{200 + i}"}),
        ):
            siji.advance(timedelta(hours=wait))
            task = siji.task_for(user, case, activity)
            siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", user))
            siji.advance(timedelta(hours=hours))
            siji.complete(user, case, activity, data)
        assert siji.instance(case)["status"] == "completed"


def test_observed_and_simulated_agree_for_fixed_service_times(siji):
    run_seq_cases(siji, [2, 2], [3, 3])
    observed = activities(siji, "sim_seq")
    flow = row(siji.ok(siji.get("/api/reports/flows", "lgo"))["items"], process_key="sim_seq")

    # the same diagram simulated: fixed 2 h and 3 h, round the clock, a clerk always free
    settings = parse(
        {
            "start": "2025-09-26T10:00:00+08:00",
            "roles": {
                "approval_bureau": {"working_time": False, "capacity": None},
                "tax_bureau": {"working_time": False, "capacity": None},
            },
            "arrivals": {"interarrival_hours": {"fixed": 24}, "working_time": False},
            "service": {"tasks": {"Task_A": {"fixed": 2}, "Task_B": {"fixed": 3}}},
        }
    )
    sim = Simulation(compile_process(str(SIM / "sim_seq.bpmn")), settings, 1)
    simulated = {a["activity_id"]: a for a in sim.run(2).figures["activities"]}
    for aid in ("Task_A", "Task_B"):
        for figure in ("waiting_hours", "working_hours"):
            assert observed[aid][figure] == simulated[aid][figure], (aid, figure)
        assert (observed[aid]["completed"], observed[aid]["role"]) == (
            simulated[aid]["completed"],
            simulated[aid]["role"],
        )
    assert flow["lead_time"]["hours"]["median"] == pytest.approx(5)
    assert [c.ended - c.arrived for c in sim.cases] == [pytest.approx(5 * H)] * 2


def test_flow_lead_time_in_working_days_skips_lunch_nights_and_the_holiday(siji):
    """Office hours 09:00-12:00 and 13:30-17:30 (SIJI_OFFICE_HOURS' default, the simulator's):
    a working day is 7 hours, on the calendar the timers use."""
    # Friday 2025-09-26 10:00 → 15:00: 2 h before lunch + 1.5 h after = 0.5 working days
    run_seq_cases(siji, [2], [3])
    # Tuesday 2025-09-30 16:00 → Thursday 2025-10-09 10:00: 1.5 h, then the National Day and
    # Mid-Autumn holiday (1-8 October), then 1 h = 2.5 h = 0.357 working days (calendar: 210 h)
    siji.advance(timedelta(days=4, hours=1))
    case = siji.start("sim_seq", "ent_a", {})["id"]
    for user, activity, hours, data in (
        ("bureau", "Task_A", 1, {"task_a_done": True, "task_a_no": "ZQ20250930-101"}),
        ("tax", "Task_B", 8 * 24 + 17, {"task_b_done": True, "task_b_no": "ZQ20250930-201"}),
    ):
        task = siji.task_for(user, case, activity)
        siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", user))
        siji.advance(timedelta(hours=hours))
        siji.complete(user, case, activity, data)
    siji.add_user("lgo", ["leading_group_office"])
    lead = row(siji.ok(siji.get("/api/reports/flows", "lgo"))["items"], process_key="sim_seq")["lead_time"]
    assert lead["count"] == 2
    assert lead["hours"]["median"] == pytest.approx((5 + 8 * 24 + 18) / 2, abs=0.01)
    assert lead["workdays"]["median"] == pytest.approx((0.5 + 2.5 / 7) / 2, abs=1e-3)
    assert lead["workdays"]["p90"] == pytest.approx(2.5 / 7 + 0.9 * (0.5 - 2.5 / 7), abs=1e-3)


def test_office_hours_setting():
    from engine.settings import Settings, SettingsError

    assert Settings.from_env({}).office_hours == ((9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30))
    assert Settings.from_env({"SIJI_OFFICE_HOURS": "14:00-18:00, 08:30-12:00"}).office_hours == (
        (8 * 60 + 30, 12 * 60),
        (14 * 60, 18 * 60),
    )
    for bad in ("9-17", "09:00-08:00", "09:00-12:00,11:00-14:00", "09:00", "09:60-10:00"):
        with pytest.raises(SettingsError, match="SIJI_OFFICE_HOURS"):
            Settings.from_env({"SIJI_OFFICE_HOURS": bad})


def _lognormal(hours):
    logs = [math.log(h) for h in hours]
    mu = sum(logs) / len(logs)
    return {
        "mu": pytest.approx(mu, abs=1e-5),
        "sigma": pytest.approx(math.sqrt(sum((x - mu) ** 2 for x in logs) / len(logs)), abs=1e-5),
    }


def test_calibrate_from_an_exported_trace(siji, tmp_path):
    # From Friday 2025-09-26 10:00 (T0), one case after the other: A 1 h, B 3 h; A 2 h, B 3 h;
    # A 4 h (19:00-23:00), B 3 h (23:00-02:00). Office hours round the clock on working days:
    # Saturday 27 is no working day (Sunday 28 is the 调休 one), so the last B counts 1 h.
    run_seq_cases(siji, [1, 2, 4], [3, 3, 3], wait=0)
    siji.add_user("audit2", ["auditor"])
    resp = siji.get("/api/traces?process_key=sim_seq&format=json", "audit2")
    assert resp.status_code == 200
    trace = tmp_path / "trace.json"
    trace.write_bytes(resp.get_data())
    compiled = compile_process(str(SIM / "sim_seq.bpmn"))
    base = {"start": "2025-09-01T09:00:00+08:00", "working_hours": [["00:00", "24:00"]], "_doc": "kept"}
    out = calibrate(trace, "sim_seq", compiled.tasks, base)
    assert out["service"]["tasks"]["Task_A"]["lognormal"] == _lognormal([1, 2, 4])
    assert out["service"]["tasks"]["Task_B"]["lognormal"] == _lognormal([3, 3, 1])
    assert out["_doc"] == "kept" and out["_doc_calibration"]["tasks"]["Task_B"] == {"n": 3, "mean_hours": 2.3333}
    # the written settings drive a simulation
    sim = Simulation(compiled, parse(out), 1)
    assert sim.run(20).figures["completed"] == 20


def test_fit_of_equal_times_is_fixed():
    assert fit([3, 3, 3]) == {"fixed": pytest.approx(3)}
    assert fit([0, 0]) == {"fixed": pytest.approx(1 / 60, abs=1e-6)}


def test_calibrate_refuses_what_is_not_a_trace(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"traces": []}))
    compiled = compile_process(str(SIM / "sim_seq.bpmn"))
    with pytest.raises(TraceError, match="siji-trace-json"):
        calibrate(bad, "sim_seq", compiled.tasks, {})
    empty = tmp_path / "e.json"
    empty.write_text(json.dumps({"format": "siji-trace-json", "traces": []}))
    with pytest.raises(TraceError, match="no completed user task"):
        calibrate(empty, "sim_seq", compiled.tasks, {})
