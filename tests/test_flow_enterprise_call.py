"""呼叫即回应 (bpmn/enterprise_call.bpmn) driven through the HTTP API by its real participants,
along every path: solved by the commissioner; a problem recorded by the commissioner on behalf of
a paired enterprise and reopened twice (each reopening starts a new limit); explained and confirmed
by the enterprise (销号 like the others); the major-problem "直通车" double report (district leaders
and the commissioner office at once); the non-interrupting reminder before the handling limit; the
limit passing twice (the handling unit explains, the leading-group office supervises, extended
limit); an enterprise with no commissioner paired (党工委组织部 assigns one). The handling task goes to
the unit chosen at registration or triage (企业呼叫、部门报到), in that unit's own inbox.

Clock: conftest's T0 is Friday 2025-09-26 10:00 China time; China's real working-day calendar:
2025-09-28 (Sunday) and 2025-10-11 (Saturday) are make-up working days, 2025-10-01..08 are the
National Day holidays. Expected deadlines are counted by hand on that calendar.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flows import (
    add_users,
    advance_past,
    assert_chain_ok,
    assert_inboxes,
    completed_by,
    deploy_flow,
    do,
    end_of_china_day,
    open_tasks,
    parse_utc,
    scheduled,
    timers,
    today,
    transitions,
)

KEY = "enterprise_call"
USCC = "91370800MA3D4R7P1B"

# com_wang serves ent_a, com_li serves ent_b (the pairing table decides a case's commissioner);
# ent_c has no commissioner yet, so 党工委组织部 (org) assigns one
USERS = {
    "com_wang": ["commissioner"],
    "com_li": ["commissioner"],
    "econ": ["economic_dev"],
    "leader": ["district_leader"],
    "office": ["commissioner_office"],
    "lgo": ["leading_group_office"],
    "urban": ["urban_management"],
    "water": ["water_affairs"],
    "org": ["organization_dept"],
    "ent_c": ["applicant"],
}
PAIRS = {"com_wang": ["ent_a"], "com_li": ["ent_b"]}
EVERYONE = [
    "ent_a",
    "ent_b",
    "com_wang",
    "com_li",
    "econ",
    "leader",
    "office",
    "lgo",
    "urban",
    "water",
    "org",
    "bureau",
]

END_NAMES = {"End_ProblemClosed": "问题已销号", "End_ProblemExplained": "已解释说明，企业确认后销号"}
REMINDER = "Event_HandlingReminder"
OVERDUE = "Event_HandlingOverdue"


# ---------------------------------------------------------------- form data
def call(channel="platform") -> dict:
    d = {
        "channel": channel,
        "enterprise_name": "济宁高新区示例科技有限公司",
        "uscc": USCC,
        "contact_person": "企业联系人乙",
        "contact_phone": "13900000000",
    }
    if channel == "platform":
        d.update(
            problem_title="厂区道路照明不足",
            problem_description="园区内厂区门前道路无路灯，夜间通行不便。",
            handling_unit="urban_management",
        )
    return d


def record(siji) -> dict:
    return {
        "problem_title": "用工招聘困难",
        "problem_description": "急需熟练技工30名。",
        "handling_unit": "economic_dev",
        "recorded_date": today(siji),
    }


def register(category="general") -> dict:
    return {
        "problem_no": "ZQ20250926-001",
        "problem_category": category,
        "responsible_person": "经济发展局企业服务科",
        "handling_unit": "urban_management",
    }


def triage(result: str, round_no: int = 1) -> dict:
    d = {"triage_result": result, "triage_note": f"第{round_no}次分类：按职责分类"}
    if result == "assign":
        d["handling_unit"] = "urban_management"
    return d


def solve(siji) -> dict:
    return {
        "solution_description": "已协调园区解决",
        "reply_to_enterprise": "问题已解决，请确认。",
        "solved_date": today(siji),
    }


def explain(siji) -> dict:
    return {
        "objective_reason": "涉及规划调整，短期内无法实施",
        "reply_to_enterprise": "已说明原因及后续安排",
        "explained_date": today(siji),
    }


def leaders(siji) -> dict:
    return {
        "reported_leaders": [{"leader_position": "分管副主任"}, {"leader_position": "城市管理局主要负责人"}],
        "leader_instruction": "请城市管理局两日内解决",
        "instruction_date": today(siji),
    }


def office(siji) -> dict:
    return {"office_filing_no": "TPY-2025-001", "office_filing_date": today(siji)}


def handle(siji, round_no: int = 1) -> dict:
    return {
        "handling_verified": True,
        "handling_result": f"第{round_no}次办理：已安装临时照明",
        "reply_to_enterprise": "已安装路灯，请确认。",
        "handling_officer": "城市管理局市政科",
        "handled_date": today(siji),
    }


def delay(round_no: int) -> dict:
    return {
        "delay_reason": f"需招标采购（第{round_no}次说明）",
        "delay_explanation_to_enterprise": "已向企业说明采购周期",
    }


def supervise(round_no: int) -> dict:
    return {
        "supervision_measure": "remind" if round_no == 1 else "notice",
        "supervision_opinion": f"第{round_no}次督办：请于延长时限内办结",
    }


CONFIRM_OK = {"resolution_confirmed": True, "satisfaction": "satisfied"}


def confirm_no(round_no: int) -> dict:
    return {"resolution_confirmed": False, "reopen_reason": f"第{round_no}次：问题仍未解决"}


# ---------------------------------------------------------------- building blocks
@pytest.fixture
def ec(siji):
    add_users(siji, USERS, PAIRS)
    deploy_flow(siji, KEY)
    return siji


def start_platform(siji, user="ent_a") -> int:
    inst = siji.start(KEY, user, call("platform"))
    assert inst["status"] == "running" and inst["enterprise"] == user
    return inst["id"]


def register_and_triage(siji, iid, category, result) -> None:
    """经济发展局 registers the problem; the case's own commissioner (and no other) triages it."""
    assert_inboxes(siji, iid, EVERYONE, {"econ": {"Task_RegisterProblem"}})
    do(
        siji,
        "econ",
        iid,
        "Task_RegisterProblem",
        register(category),
        role="economic_dev",
        hidden_from=["urban", "com_wang"],
    )
    assert_inboxes(siji, iid, EVERYONE, {"com_wang": {"Task_TriageProblem"}})
    do(siji, "com_wang", iid, "Task_TriageProblem", triage(result), role="commissioner", hidden_from=["com_li"])


def assert_closed(siji, iid, end_id, enterprise="ent_a") -> dict:
    inst = siji.instance(iid)
    assert inst["status"] == "completed"
    assert inst["outcome"] == {"id": end_id, "name": END_NAMES[end_id]}
    assert transitions(siji, iid, "instance_completed") == [end_id]
    assert open_tasks(siji, iid) == {}
    assert timers(siji, iid) == {}, "a timer still waits after the case closed"
    assert_chain_ok(siji, iid)
    own = siji.ok(siji.get(f"/api/process-instances/{iid}", enterprise))
    assert own["outcome"]["id"] == end_id
    data = inst["data"]
    assert data["enterprise_name"] == "济宁高新区示例科技有限公司" and data["uscc"] == USCC
    assert data["commissioner"] == "com_wang" and data["enterprise_user"] == enterprise
    return inst


def assert_reserved(siji, iid) -> None:
    """Commissioner tasks are reserved for the case's named commissioner, enterprise tasks for the
    enterprise that owns the case; department tasks are for the whole department."""
    inst = siji.instance(iid)
    for activity, role, reserved in scheduled(siji, iid):
        if role == "commissioner":
            assert reserved == "com_wang", (activity, reserved)
        elif role == "applicant":
            assert reserved == inst["enterprise"], (activity, reserved)
        else:
            assert reserved is None, (activity, reserved)


# ---------------------------------------------------------------- path 1: solved by the commissioner
def test_platform_call_solved_by_commissioner(ec):
    siji = ec
    iid = start_platform(siji)
    # com_li serves another enterprise: neither the case nor its tasks are his
    assert siji.get(f"/api/process-instances/{iid}", "com_li").status_code == 404
    # the triage form offers only department codes (options put into the task by the server)
    do(siji, "econ", iid, "Task_RegisterProblem", register("general"), role="economic_dev")
    task = siji.task_for("com_wang", iid, "Task_TriageProblem")
    offered = siji.ok(siji.get(f"/api/tasks/{task['id']}", "com_wang"))["data"]["department_options"]
    assert {"label": "城市管理局", "value": "urban_management"} in offered
    assert "applicant" not in {o["value"] for o in offered}
    resp = siji.post(
        f"/api/tasks/{task['id']}/complete", "com_wang", json={"data": dict(triage("assign"), handling_unit="ent_a")}
    )
    assert resp.status_code == 422 and "handling_unit" in resp.get_json()["fields"]
    do(siji, "com_wang", iid, "Task_TriageProblem", triage("self"), role="commissioner", hidden_from=["com_li"])
    assert_inboxes(siji, iid, EVERYONE, {"com_wang": {"Task_CommissionerSolves"}})
    do(siji, "com_wang", iid, "Task_CommissionerSolves", solve(siji), role="commissioner", hidden_from=["com_li"])
    assert_inboxes(siji, iid, EVERYONE, {"ent_a": {"Task_ConfirmResolution"}})
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant", hidden_from=["ent_b", "com_wang"])

    data = assert_closed(siji, iid, "End_ProblemClosed")["data"]
    assert data["problem_title"] == "厂区道路照明不足" and data["triage_result"] == "self"
    assert data["solution_description"] == "已协调园区解决" and data["satisfaction"] == "satisfied"
    # general problem: 5 working days from Fri 9-26 → 9-28, 9-29, 9-30, 10-9, 10-10
    assert parse_utc(data["due_date"]) == end_of_china_day("2025-10-10")
    assert data["limit_workdays"] == 5 and data["extension_count"] == 0 and data["closed_on_time"] is True
    assert completed_by(siji, iid) == [
        ("Task_RegisterProblem", "economic_dev", "econ"),
        ("Task_TriageProblem", "commissioner", "com_wang"),
        ("Task_CommissionerSolves", "commissioner", "com_wang"),
        ("Task_ConfirmResolution", "applicant", "ent_a"),
    ]
    assert siji.completed_activities(iid) == [
        "Task_RegisterProblem",
        "Task_TriageProblem",
        "Task_CommissionerSolves",
        "Task_ConfirmResolution",
    ]
    assert_reserved(siji, iid)
    assert transitions(siji, iid, "timer_armed") == []
    assert transitions(siji, iid, "end") == ["End_ProblemClosed"]


# ---------------------------------------------------------------- path 2: on behalf, reopened twice
def test_commissioner_records_on_behalf_and_problem_is_reopened_twice(ec):
    siji = ec
    # the commissioner is not chosen in the form: it comes from the pairing table
    resp = siji.post(
        "/api/process-instances",
        "com_wang",
        json={
            "process_key": KEY,
            "variables": dict(call("commissioner"), commissioner="com_li"),
            "on_behalf_of": "ent_a",
        },
    )
    assert resp.status_code == 422 and "commissioner" in resp.get_json()["fields"]
    resp = siji.post(
        "/api/process-instances",
        "com_li",
        json={"process_key": KEY, "variables": call("commissioner"), "on_behalf_of": "ent_a"},
    )
    assert resp.status_code == 422 and "on_behalf_of" in resp.get_json()["fields"]
    inst = siji.start(KEY, "com_wang", call("commissioner"), on_behalf_of="ent_a")
    iid = inst["id"]
    assert (inst["starter"], inst["enterprise"]) == ("com_wang", "ent_a")
    assert siji.get(f"/api/process-instances/{iid}", "ent_a").status_code == 200
    for outsider in ("ent_b", "com_li"):
        assert siji.get(f"/api/process-instances/{iid}", outsider).status_code == 404

    assert_inboxes(siji, iid, EVERYONE, {"com_wang": {"Task_RecordOnBehalf"}})
    do(siji, "com_wang", iid, "Task_RecordOnBehalf", record(siji), role="commissioner", hidden_from=["com_li"])
    register_and_triage(siji, iid, "complex", "assign")

    # complex: 10 working days from Fri 9-26 → 9-28 (make-up Sunday), 9-29, 9-30, 10-9, 10-10,
    # 10-11 (make-up Saturday), 10-13, 10-14, 10-15, 10-16; reminder one working day earlier.
    # The unit chosen at registration (城市管理局) gets the task in its own inbox, not 经济发展局.
    assert_inboxes(siji, iid, EVERYONE, {"urban": {"Task_HandleProblem"}})
    armed = timers(siji, iid)
    assert set(armed) == {REMINDER, OVERDUE}
    assert parse_utc(armed[OVERDUE]["due_at"]) == end_of_china_day("2025-10-16")
    assert parse_utc(armed[REMINDER]["due_at"]) == end_of_china_day("2025-10-15")
    # the handling task's deadline is the interrupting limit, not the reminder
    assert parse_utc(open_tasks(siji, iid)["Task_HandleProblem"]["due_at"]) == end_of_china_day("2025-10-16")

    for rnd in (1, 2):
        do(
            siji,
            "urban",
            iid,
            "Task_HandleProblem",
            handle(siji, rnd),
            role="urban_management",
            hidden_from=["econ", "water"],
        )
        assert timers(siji, iid) == {}
        if rnd == 1:
            siji.advance(timedelta(days=3))  # the enterprise answers on Mon 9-29
        # the enterprise (not the commissioner who started the case) confirms
        assert_inboxes(siji, iid, EVERYONE, {"ent_a": {"Task_ConfirmResolution"}})
        do(
            siji,
            "ent_a",
            iid,
            "Task_ConfirmResolution",
            confirm_no(rnd),
            role="applicant",
            hidden_from=["ent_b", "com_wang"],
        )
        # a reopened problem starts a new limit, counted from the reopening (Mon 9-29):
        # 9-30, 10-9, 10-10, 10-11 (make-up Saturday), 10-13 … 10-17, 10-20
        running = siji.instance(iid)["data"]
        assert running["reopen_count"] == rnd and running["extension_count"] == 0
        assert parse_utc(running["due_date"]) == end_of_china_day("2025-10-20")
        assert_inboxes(siji, iid, EVERYONE, {"com_wang": {"Task_TriageProblem"}})
        do(
            siji,
            "com_wang",
            iid,
            "Task_TriageProblem",
            triage("assign" if rnd == 1 else "self", rnd + 1),
            role="commissioner",
            hidden_from=["com_li"],
        )
        if rnd == 1:
            armed = timers(siji, iid)
            assert parse_utc(armed[OVERDUE]["due_at"]) == end_of_china_day("2025-10-20")
            assert parse_utc(armed[REMINDER]["due_at"]) == end_of_china_day("2025-10-17")
    do(siji, "com_wang", iid, "Task_CommissionerSolves", solve(siji), role="commissioner")
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant")

    data = assert_closed(siji, iid, "End_ProblemClosed")["data"]
    assert data["channel"] == "commissioner" and data["initiator"] == "com_wang"
    assert data["problem_title"] == "用工招聘困难" and data["problem_category"] == "complex"
    assert data["reopen_reason"] == "第2次：问题仍未解决" and data["resolution_confirmed"] is True
    assert data["handling_result"] == "第2次办理：已安装临时照明" and data["triage_result"] == "self"
    assert data["extension_count"] == 0 and data["closed_on_time"] is True and data["reopen_count"] == 2
    assert siji.completed_activities(iid) == [
        "Task_RecordOnBehalf",
        "Task_RegisterProblem",
        "Task_TriageProblem",
        "Task_HandleProblem",
        "Task_ConfirmResolution",
        "Task_TriageProblem",
        "Task_HandleProblem",
        "Task_ConfirmResolution",
        "Task_TriageProblem",
        "Task_CommissionerSolves",
        "Task_ConfirmResolution",
    ]
    assert [c[2] for c in completed_by(siji, iid)] == [
        "com_wang",
        "econ",
        "com_wang",
        "urban",
        "ent_a",
        "com_wang",
        "urban",
        "ent_a",
        "com_wang",
        "com_wang",
        "ent_a",
    ]
    assert_reserved(siji, iid)
    assert sorted(transitions(siji, iid, "timer_armed")) == sorted([REMINDER, OVERDUE] * 2)
    assert sorted(transitions(siji, iid, "timer_cancelled")) == sorted([REMINDER, OVERDUE] * 2)
    assert transitions(siji, iid, "timer_fired") == []


# ---------------------------------------------------------------- path 3: explained, confirmed, 销号
def test_problem_explained_to_enterprise_is_confirmed_and_closed(ec):
    siji = ec
    iid = start_platform(siji)
    register_and_triage(siji, iid, "general", "explain")
    assert_inboxes(siji, iid, EVERYONE, {"com_wang": {"Task_ExplainToEnterprise"}})
    do(siji, "com_wang", iid, "Task_ExplainToEnterprise", explain(siji), role="commissioner", hidden_from=["com_li"])
    # the explanation is not the end: the enterprise confirms it, then the problem is closed (销号)
    assert siji.instance(iid)["status"] == "running"
    assert_inboxes(siji, iid, EVERYONE, {"ent_a": {"Task_ConfirmResolution"}})
    task = siji.task_for("ent_a", iid, "Task_ConfirmResolution")
    assert (
        siji.ok(siji.get(f"/api/tasks/{task['id']}", "ent_a"))["data"]["reply_to_enterprise"] == "已说明原因及后续安排"
    )
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant", hidden_from=["ent_b"])

    data = assert_closed(siji, iid, "End_ProblemExplained")["data"]
    assert data["objective_reason"] == "涉及规划调整，短期内无法实施" and data["triage_result"] == "explain"
    assert data["resolution_confirmed"] is True and data["closed_on_time"] is True
    assert completed_by(siji, iid) == [
        ("Task_RegisterProblem", "economic_dev", "econ"),
        ("Task_TriageProblem", "commissioner", "com_wang"),
        ("Task_ExplainToEnterprise", "commissioner", "com_wang"),
        ("Task_ConfirmResolution", "applicant", "ent_a"),
    ]
    assert_reserved(siji, iid)
    assert ("script", "Task_CloseProblem") in [(t, a) for (t, a, _, _) in siji.trace(iid)]
    assert transitions(siji, iid, "end") == ["End_ProblemExplained"]


def test_explanation_not_accepted_is_triaged_again(ec):
    siji = ec
    iid = start_platform(siji)
    register_and_triage(siji, iid, "general", "explain")
    do(siji, "com_wang", iid, "Task_ExplainToEnterprise", explain(siji), role="commissioner")
    do(siji, "ent_a", iid, "Task_ConfirmResolution", confirm_no(1), role="applicant")
    assert_inboxes(siji, iid, EVERYONE, {"com_wang": {"Task_TriageProblem"}})
    do(siji, "com_wang", iid, "Task_TriageProblem", triage("self", 2), role="commissioner")
    do(siji, "com_wang", iid, "Task_CommissionerSolves", solve(siji), role="commissioner")
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant")
    assert assert_closed(siji, iid, "End_ProblemClosed")["data"]["reopen_count"] == 1


# ---------------------------------------------------------------- pairing and the handling unit
def test_enterprise_without_commissioner_gets_one_from_organization_dept(ec):
    siji = ec
    inst = siji.start(KEY, "ent_c", call("platform"))
    iid = inst["id"]
    assert siji.instance(iid)["data"]["commissioner"] is None
    # 党工委组织部 assigns the commissioner (一对一结对); no commissioner sees anything before
    assert_inboxes(siji, iid, EVERYONE + ["ent_c"], {"org": {"Task_AssignCommissioner"}})
    do(
        siji,
        "org",
        iid,
        "Task_AssignCommissioner",
        {"commissioner": "com_li", "assignment_note": "按行业分配"},
        role="organization_dept",
        hidden_from=["econ", "com_wang"],
    )
    do(siji, "econ", iid, "Task_RegisterProblem", register("general"), role="economic_dev")
    assert_inboxes(siji, iid, EVERYONE + ["ent_c"], {"com_li": {"Task_TriageProblem"}})
    do(siji, "com_li", iid, "Task_TriageProblem", triage("self"), role="commissioner", hidden_from=["com_wang"])
    assert scheduled(siji, iid)[-1] == ("Task_CommissionerSolves", "commissioner", "com_li")


def test_paired_enterprise_gets_its_own_commissioner(ec):
    siji = ec
    iid = start_platform(siji, "ent_b")
    assert siji.instance(iid)["data"]["commissioner"] == "com_li"
    do(siji, "econ", iid, "Task_RegisterProblem", register("general"), role="economic_dev")
    assert_inboxes(siji, iid, EVERYONE, {"com_li": {"Task_TriageProblem"}})


def test_handling_unit_chosen_at_triage_gets_the_task_and_an_unknown_unit_is_refused(ec):
    siji = ec
    iid = start_platform(siji)
    do(siji, "econ", iid, "Task_RegisterProblem", register("general"), role="economic_dev")
    task = siji.task_for("com_wang", iid, "Task_TriageProblem")
    before = len(siji.trace(iid))
    for bad in ("no_such_unit", "leading_group_office", "applicant"):
        resp = siji.post(
            f"/api/tasks/{task['id']}/complete", "com_wang", json={"data": dict(triage("assign"), handling_unit=bad)}
        )
        assert resp.status_code == 422 and "handling_unit" in resp.get_json()["fields"], (bad, resp.get_json())
    assert len(siji.trace(iid)) == before, "a refused triage wrote something"
    # triage re-assigns from 城市管理局 (registration) to 水务管理办公室
    do(
        siji,
        "com_wang",
        iid,
        "Task_TriageProblem",
        dict(triage("assign"), handling_unit="water_affairs"),
        role="commissioner",
    )
    assert_inboxes(siji, iid, EVERYONE, {"water": {"Task_HandleProblem"}})
    do(siji, "water", iid, "Task_HandleProblem", handle(siji), role="water_affairs", hidden_from=["urban", "econ"])
    assert scheduled(siji, iid)[-1] == ("Task_ConfirmResolution", "applicant", "ent_a")


# ---------------------------------------------------------------- path 4: major and urgent (直通车)
def test_major_problem_reported_to_leaders_and_office_at_once(ec):
    siji = ec
    iid = start_platform(siji)
    register_and_triage(siji, iid, "major", "major")
    # the double report runs in parallel: leaders and the commissioner office each get theirs
    assert_inboxes(siji, iid, EVERYONE, {"leader": {"Task_ReportToLeaders"}, "office": {"Task_FileWithOffice"}})
    do(
        siji,
        "leader",
        iid,
        "Task_ReportToLeaders",
        leaders(siji),
        role="district_leader",
        hidden_from=["office", "com_wang"],
    )
    assert_inboxes(siji, iid, EVERYONE, {"office": {"Task_FileWithOffice"}})  # the join waits
    do(
        siji,
        "office",
        iid,
        "Task_FileWithOffice",
        office(siji),
        role="commissioner_office",
        hidden_from=["leader", "com_wang"],
    )

    # major: 2 working days from Fri 9-26 → 9-28 (make-up Sunday), 9-29; reminder max(1, 2-1) → 9-28
    assert_inboxes(siji, iid, EVERYONE, {"urban": {"Task_HandleProblem"}})
    armed = timers(siji, iid)
    assert parse_utc(armed[OVERDUE]["due_at"]) == end_of_china_day("2025-09-29")
    assert parse_utc(armed[REMINDER]["due_at"]) == end_of_china_day("2025-09-28")
    do(siji, "urban", iid, "Task_HandleProblem", handle(siji), role="urban_management", hidden_from=["econ", "water"])
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant", hidden_from=["ent_b"])

    data = assert_closed(siji, iid, "End_ProblemClosed")["data"]
    assert data["leader_instruction"] == "请城市管理局两日内解决" and data["office_filing_no"] == "TPY-2025-001"
    assert [r["leader_position"] for r in data["reported_leaders"]] == ["分管副主任", "城市管理局主要负责人"]
    assert data["limit_workdays"] == 2 and data["closed_on_time"] is True
    done = siji.completed_activities(iid)
    assert done[:2] == ["Task_RegisterProblem", "Task_TriageProblem"]
    assert set(done[2:4]) == {"Task_ReportToLeaders", "Task_FileWithOffice"}
    assert done[4:] == ["Task_HandleProblem", "Task_ConfirmResolution"]
    assert set(completed_by(siji, iid)[2:4]) == {
        ("Task_ReportToLeaders", "district_leader", "leader"),
        ("Task_FileWithOffice", "commissioner_office", "office"),
    }
    assert_reserved(siji, iid)
    assert sorted(transitions(siji, iid, "timer_cancelled")) == sorted([REMINDER, OVERDUE])


# ---------------------------------------------------------------- path 5: non-interrupting reminder
def test_reminder_fires_and_handling_goes_on(ec):
    siji = ec
    iid = start_platform(siji)
    register_and_triage(siji, iid, "general", "assign")
    handling = open_tasks(siji, iid)["Task_HandleProblem"]
    # general: limit end of 10-10; reminder 4 working days: 9-28, 9-29, 9-30, 10-9 → end of 10-09
    assert advance_past(siji, iid, REMINDER) == end_of_china_day("2025-10-09")

    # the reminder does not interrupt: same task, still open, the limit still waits
    inst = siji.instance(iid)
    assert inst["status"] == "running"
    assert open_tasks(siji, iid) == {"Task_HandleProblem": open_tasks(siji, iid)["Task_HandleProblem"]}
    assert open_tasks(siji, iid)["Task_HandleProblem"]["id"] == handling["id"]
    assert set(timers(siji, iid)) == {OVERDUE}
    assert_inboxes(siji, iid, EVERYONE, {"urban": {"Task_HandleProblem"}})
    assert transitions(siji, iid, "end") == ["End_ReminderSent"]
    reminded_at = siji.clock.now()

    do(siji, "urban", iid, "Task_HandleProblem", handle(siji), role="urban_management", hidden_from=["econ", "water"])
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant", hidden_from=["ent_b"])
    data = assert_closed(siji, iid, "End_ProblemClosed")["data"]
    assert data["extension_count"] == 0 and data["closed_on_time"] is True
    assert data["handled_date"] == "2025-10-10"  # handled on the limit's last day
    assert parse_utc(data["reminder_sent_at"]) == reminded_at, sorted(data)
    assert siji.completed_activities(iid) == [
        "Task_RegisterProblem",
        "Task_TriageProblem",
        "Task_HandleProblem",
        "Task_ConfirmResolution",
    ]
    assert transitions(siji, iid, "timer_fired") == [REMINDER]
    assert transitions(siji, iid, "timer_cancelled") == [OVERDUE]
    assert transitions(siji, iid, "end") == ["End_ReminderSent", "End_ProblemClosed"]
    trace = siji.trace(iid)
    steps = [(t, a) for (t, a, _, _) in trace]
    fired = steps.index(("timer_fired", REMINDER))
    assert steps.index(("script", "Task_SendReminder")) > fired
    assert steps.index(("end", "End_ReminderSent")) > fired
    assert steps.index(("complete", "Task_HandleProblem")) > steps.index(("end", "End_ReminderSent"))


# ---------------------------------------------------------------- path 6: limit passes twice
def test_handling_limit_passes_twice_then_closed_late(ec):
    siji = ec
    iid = start_platform(siji)
    register_and_triage(siji, iid, "general", "assign")
    expected = [  # (reminder, limit) of each round, counted by hand
        ("2025-10-09", "2025-10-10"),  # from Fri 9-26: 9-28, 9-29, 9-30, 10-9, 10-10
        ("2025-10-16", "2025-10-17"),  # extension 5 from Sat 10-11 00:59 (make-up day itself not counted): 10-13..17
        ("2025-10-23", "2025-10-24"),  # extension 5 from Sat 10-18 00:59: 10-20..24
    ]
    handle_ids = []
    for rnd in (1, 2):
        reminder_day, limit_day = expected[rnd - 1]
        handle_ids.append(open_tasks(siji, iid)["Task_HandleProblem"]["id"])
        assert advance_past(siji, iid, REMINDER) == end_of_china_day(reminder_day)
        assert_inboxes(siji, iid, EVERYONE, {"urban": {"Task_HandleProblem"}})
        assert advance_past(siji, iid, OVERDUE) == end_of_china_day(limit_day)
        # the limit interrupts handling: explain the delay, then the leading-group office supervises
        assert_inboxes(siji, iid, EVERYONE, {"urban": {"Task_ExplainDelay"}})
        assert timers(siji, iid) == {}
        do(siji, "urban", iid, "Task_ExplainDelay", delay(rnd), role="urban_management", hidden_from=["lgo", "econ"])
        assert_inboxes(siji, iid, EVERYONE, {"lgo": {"Task_SuperviseOverdue"}})
        overdue_list = siji.ok(siji.get(f"/api/timers?process_instance_id={iid}&status=fired", "lgo"))["items"]
        assert [t["activity_id"] for t in overdue_list].count(OVERDUE) == rnd
        do(
            siji,
            "lgo",
            iid,
            "Task_SuperviseOverdue",
            supervise(rnd),
            role="leading_group_office",
            hidden_from=["urban", "com_wang"],
        )
        # handling resumes with an extended limit and both timers re-armed
        assert_inboxes(siji, iid, EVERYONE, {"urban": {"Task_HandleProblem"}})
        armed = timers(siji, iid)
        nxt_reminder, nxt_limit = expected[rnd]
        assert parse_utc(armed[REMINDER]["due_at"]) == end_of_china_day(nxt_reminder)
        assert parse_utc(armed[OVERDUE]["due_at"]) == end_of_china_day(nxt_limit)
        running = siji.instance(iid)["data"]
        assert running["extension_count"] == rnd and running["limit_workdays"] == 5
        assert parse_utc(running["due_date"]) == end_of_china_day(nxt_limit)
        resumed = open_tasks(siji, iid)["Task_HandleProblem"]
        assert parse_utc(resumed["due_at"]) == end_of_china_day(nxt_limit) and resumed["overdue"] is False
    handle_ids.append(open_tasks(siji, iid)["Task_HandleProblem"]["id"])
    assert len(set(handle_ids)) == 3

    do(
        siji,
        "urban",
        iid,
        "Task_HandleProblem",
        handle(siji, 3),
        role="urban_management",
        hidden_from=["econ", "water"],
    )
    do(siji, "ent_a", iid, "Task_ConfirmResolution", CONFIRM_OK, role="applicant", hidden_from=["ent_b"])
    data = assert_closed(siji, iid, "End_ProblemClosed")["data"]
    assert data["extension_count"] == 2 and data["closed_on_time"] is False
    assert data["delay_reason"] == "需招标采购（第2次说明）" and data["supervision_measure"] == "notice"
    assert siji.completed_activities(iid) == [
        "Task_RegisterProblem",
        "Task_TriageProblem",
        "Task_ExplainDelay",
        "Task_SuperviseOverdue",
        "Task_ExplainDelay",
        "Task_SuperviseOverdue",
        "Task_HandleProblem",
        "Task_ConfirmResolution",
    ]
    assert [c[1:] for c in completed_by(siji, iid)[2:6]] == [
        ("urban_management", "urban"),
        ("leading_group_office", "lgo"),
    ] * 2
    # every round in the trace
    assert transitions(siji, iid, "timer_fired") == [REMINDER, OVERDUE] * 2
    assert sorted(transitions(siji, iid, "timer_armed")) == sorted([REMINDER, OVERDUE] * 3)
    assert sorted(transitions(siji, iid, "timer_cancelled")) == sorted([REMINDER, OVERDUE])
    assert transitions(siji, iid, "cancel") == ["Task_HandleProblem"] * 2
    assert transitions(siji, iid, "end") == ["End_ReminderSent", "End_ReminderSent", "End_ProblemClosed"]
    assert_reserved(siji, iid)
