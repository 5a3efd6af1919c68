"""Supervision reports and the problem ledger, against numbers worked out by hand for a few cases
with known deadlines. The clock is injected: ``siji.advance`` moves it and lets the timer worker
fire what fell due; ``siji.clock.advance`` moves it alone (a worker that has not run yet)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from conftest import DATA, T0

MINI = DATA / "mini"
CALL = DATA / "call_mini"
START = {"enterprise_name": "甲公司", "credit_code": "91350100M000100Y43"}
H = 3600.0


def at(delta: timedelta) -> str:
    return (T0 + delta).astimezone(UTC).isoformat()


def row(items, **match):
    found = [i for i in items if all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, items)
    return found[0]


def mini_timeline(siji):
    """Five mini cases. Task_Review is due 3 calendar days after it is created (review_days = 3).

    A  start T0; claimed T0+1h; accepted T0+5h                   on time, handled 4h, lead 5h
    B  start T0; sent back T0+1d (never claimed)                 on time, handled 24h
       corrected by ent_a T0+1d+2h (applicant task, no deadline) handled 2h
       second review (due T0+4d+2h) accepted T0+3d+3h            on time, handled 49h, lead 75h
    C  start T0; accepted T0+3d+1h before the worker ran          overdue, handled 73h, lead 73h
    D  start T0; deadline fires T0+3d+2h, review cancelled       expired, ends 逾期, lead 74h
    E  start T0+3d+3h; open, due T0+6d+3h
    """
    ids = {}
    for name in "ABCD":
        ids[name] = siji.start("mini", "ent_a" if name in "AB" else "ent_b", START, business_key=f"MINI-{name}")["id"]
    siji.advance(timedelta(hours=1))
    task_a = siji.task_for("bureau", ids["A"], "Task_Review")
    siji.ok(siji.post(f"/api/tasks/{task_a['id']}/claim", "bureau"))
    siji.advance(timedelta(hours=4))  # T0+5h
    siji.complete("bureau", ids["A"], "Task_Review", {"complete": True})
    siji.advance(timedelta(hours=19))  # T0+1d
    siji.complete("bureau", ids["B"], "Task_Review", {"complete": False, "missing_items": "章程"})
    siji.advance(timedelta(hours=2))  # T0+1d+2h
    siji.complete("ent_a", ids["B"], "Task_Correct", {"correction_note": "已补"})
    siji.clock.advance(timedelta(days=2, hours=-1))  # T0+3d+1h, worker idle
    siji.complete("bureau", ids["C"], "Task_Review", {"complete": True})
    assert siji.advance(timedelta(hours=1)) == 1  # T0+3d+2h: D's deadline
    assert siji.instance(ids["D"])["outcome"]["id"] == "End_Late"
    siji.advance(timedelta(hours=1))  # T0+3d+3h
    siji.complete("bureau", ids["B"], "Task_Review", {"complete": True})
    ids["E"] = siji.start("mini", "ent_b", START, business_key="MINI-E")["id"]
    return ids


def test_department_report(siji):
    siji.deploy_paths(MINI)
    mini_timeline(siji)
    siji.add_user("lgo", ["leading_group_office"])
    body = siji.ok(siji.get("/api/reports/departments", "lgo"))
    bureau = row(body["items"], role="approval_bureau", process_key="mini")
    assert bureau["role_name"] == "行政审批服务局" and bureau["process_name"] == "测试流程"
    assert {k: bureau[k] for k in ("completed", "on_time", "overdue", "expired", "open", "open_overdue")} == {
        "completed": 4,
        "on_time": 3,
        "overdue": 1,
        "expired": 1,
        "open": 1,
        "open_overdue": 0,
    }
    # handling: A 4h (claimed), B1 24h, B2 49h, C 73h (created → completed)
    assert bureau["handling"]["count"] == 4
    assert bureau["handling"]["seconds"]["median"] == pytest.approx((24 + 49) / 2 * H)
    assert bureau["handling"]["seconds"]["p90"] == pytest.approx((49 + 0.7 * (73 - 49)) * H)
    assert bureau["handling"]["hours"] == {"median": 36.5, "p90": 65.8}
    applicant = row(body["items"], role="applicant", process_key="mini")
    # the correction has no deadline: never counted on time, reported as 无时限 (no deadline)
    assert {k: applicant[k] for k in ("completed", "on_time", "overdue", "no_deadline", "expired", "open")} == {
        "completed": 1,
        "on_time": 0,
        "overdue": 0,
        "no_deadline": 1,
        "expired": 0,
        "open": 0,
    }
    assert bureau["no_deadline"] == 0 and bureau["open_no_deadline"] == 0
    assert applicant["handling"]["seconds"] == {"median": 2 * H, "p90": 2 * H}
    assert applicant["department"] is False and bureau["department"] is True
    dep = row(body["departments"], role="approval_bureau")
    assert dep["completed"] == 4 and dep["handling"]["seconds"]["median"] == pytest.approx(36.5 * H)

    # a window: completions in [T0, T0+2d) are A and B's first review, and B's correction
    win = siji.ok(
        siji.get(
            f"/api/reports/departments?from={at(timedelta(0))}&to={at(timedelta(days=2))}".replace("+00:00", "Z"),
            "auditor",
        )
    )
    bureau = row(win["items"], role="approval_bureau", process_key="mini")
    assert (bureau["completed"], bureau["on_time"], bureau["overdue"], bureau["expired"]) == (2, 2, 0, 0)
    assert bureau["handling"]["seconds"]["median"] == pytest.approx(14 * H)  # 4h and 24h
    assert bureau["open"] == 1  # open is "now"
    later = siji.ok(siji.get("/api/reports/departments?from=2025-09-29", "auditor"))  # China day
    bureau = row(later["items"], role="approval_bureau", process_key="mini")
    assert (bureau["completed"], bureau["overdue"], bureau["expired"]) == (2, 1, 1)  # C, B2; D
    assert not [i for i in later["items"] if i["role"] == "applicant"]

    # the open review is overdue once its deadline passes (before the worker fires it)
    siji.clock.advance(timedelta(days=3, hours=1))  # T0+6d+4h
    late = siji.ok(siji.get("/api/reports/departments", "auditor"))
    assert row(late["items"], role="approval_bureau", process_key="mini")["open_overdue"] == 1


def test_flow_report(siji):
    siji.deploy_paths(MINI)
    ids = mini_timeline(siji)
    body = siji.ok(siji.get("/api/reports/flows", "auditor"))
    mini = row(body["items"], process_key="mini")
    assert (mini["started"], mini["running"], mini["completed"]) == (5, 1, 4)
    assert mini["outcomes"] == [
        {"id": "End_Approved", "name": "已受理", "count": 3},
        {"id": "End_Late", "name": "逾期", "count": 1},
    ]
    # lead times: A 5h, C 73h, D 74h, B 75h
    assert mini["lead_time"]["count"] == 4
    assert mini["lead_time"]["seconds"]["median"] == pytest.approx(73.5 * H)
    assert mini["lead_time"]["seconds"]["p90"] == pytest.approx((74 + 0.7 * 1) * H)
    # B's review was done twice: one rework round in five cases
    assert (mini["rework_rounds"], mini["cases_with_rework"], mini["rework_rounds_per_case"]) == (1, 1, 0.2)
    # cases started on 29 September (China time): E alone
    later = row(siji.ok(siji.get("/api/reports/flows?from=2025-09-29", "auditor"))["items"], process_key="mini")
    assert (later["started"], later["running"], later["rework_rounds"], later["lead_time"]["count"]) == (1, 1, 0, 0)
    assert ids["E"]


def test_reports_are_for_supervisors(siji):
    siji.deploy_paths(MINI)
    siji.add_user("econ", ["economic_dev"])
    for url in ("/api/reports/departments", "/api/reports/flows"):
        assert siji.get(url, "bureau").status_code == 403
        assert siji.get(url, "ent_a").status_code == 403
        assert siji.get(url, "econ").status_code == 403
        assert siji.get(url, "admin").status_code == 200
    assert siji.get("/api/ledger", "econ").status_code == 200
    assert siji.get("/api/ledger", "bureau").status_code == 403
    assert siji.get("/api/reports/departments?from=soon", "auditor").status_code == 422
    assert siji.get("/api/reports/departments", None).status_code == 401


def register(siji, user, iid, number, unit, person, category):
    siji.complete(
        user,
        iid,
        "Task_RegisterProblem",
        {"problem_number": number, "handling_unit": unit, "responsible_person": person, "problem_category": category},
    )


def test_ledger(siji):
    """Problem register of a small enterprise_call-like flow (tests/data/call_mini: the same data
    names as bpmn/enterprise_call.bpmn: handling_unit, due_date, extension_count, closed_on_time).

    L1 general (5 days) registered T0, handled T0+1d+1h           closed on time
    L2 urgent (2 days) registered T0, limit passes T0+2d+1h, extended 3 days to T0+5d+1h,
       handled T0+3d                                              closed, not on time
    L3 general registered T0+1d: due T0+6d, still being handled
    L4 not registered yet: no number, unit or limit (business key instead)
    """
    siji.deploy_paths(CALL)
    siji.add_user("econ", ["economic_dev"])
    start = {"enterprise_name": "济宁高新甲公司", "problem_description": "厂区供电不足"}
    l1 = siji.start("call_mini", "ent_a", start)["id"]
    l2 = siji.start("call_mini", "ent_b", dict(start, enterprise_name="乙公司"))["id"]
    l3 = siji.start("call_mini", "ent_a", start)["id"]
    l4 = siji.start("call_mini", "ent_b", dict(start, enterprise_name="乙公司"), business_key="BK-L4")["id"]
    register(siji, "econ", l1, "HJ-2025-001", "housing_construction", "王五", "general")
    register(siji, "econ", l2, "HJ-2025-002", "fire_rescue", "赵六", "urgent")
    siji.advance(timedelta(days=1))
    register(siji, "econ", l3, "HJ-2025-003", "market_supervision", "孙七", "general")
    siji.advance(timedelta(hours=1))
    siji.complete("econ", l1, "Task_HandleProblem", {"handling_result": "已协调供电公司扩容"})
    assert siji.advance(timedelta(days=1)) == 1  # T0+2d+1h: L2's limit passes
    siji.advance(timedelta(hours=23))  # T0+3d
    siji.complete("econ", l2, "Task_HandleProblem", {"handling_result": "已办结"})

    body = siji.ok(siji.get("/api/ledger?process_key=call_mini", "econ"))
    assert body["total"] == 4 and [i["process_instance_id"] for i in body["items"]] == [l1, l2, l3, l4]
    r1, r2, r3, r4 = body["items"]
    assert r1["number"] == "HJ-2025-001" and r1["enterprise"] == "济宁高新甲公司"
    assert r1["handling_unit"] == [{"code": "housing_construction", "name": "住房和城乡建设局"}]
    assert r1["responsible_person"] == "王五"
    assert r1["time_limit"] == at(timedelta(days=5))
    assert (r1["status"], r1["status_name"], r1["closed_on_time"]) == ("completed", "问题已销号", True)
    assert r1["closed_at"] == at(timedelta(days=1, hours=1)) and r1["extension_count"] == 0

    assert r2["number"] == "HJ-2025-002" and r2["enterprise"] == "乙公司"
    assert r2["handling_unit"][0]["name"] == "消防救援大队" and r2["responsible_person"] == "赵六"
    assert r2["time_limit"] == at(timedelta(days=5, hours=1)) and r2["extension_count"] == 1
    assert (r2["status"], r2["closed_on_time"]) == ("completed", False)

    assert r3["time_limit"] == at(timedelta(days=6)) and r3["status_name"] == "办理中"
    assert [a["name"] for a in r3["current_activities"]] == ["承办单位办理"]
    assert (r3["closed_on_time"], r3["overdue_now"]) == (None, False)

    assert r4["number"] == "BK-L4" and r4["enterprise"] == "乙公司"
    assert (r4["handling_unit"], r4["responsible_person"], r4["time_limit"]) == (None, None, None)
    assert [a["id"] for a in r4["current_activities"]] == ["Task_RegisterProblem"]
    assert r4["current_activities"][0]["role_name"] == "经济发展局"

    running = siji.ok(siji.get("/api/ledger?process_key=call_mini&status=running", "auditor"))
    assert [i["process_instance_id"] for i in running["items"]] == [l3, l4]
    page2 = siji.ok(siji.get("/api/ledger?process_key=call_mini&per_page=3&page=2", "auditor"))
    assert [i["process_instance_id"] for i in page2["items"]] == [l4] and page2["total"] == 4
    siji.clock.advance(timedelta(days=3, hours=1))  # T0+6d+1h, worker idle
    r3 = siji.ok(siji.get("/api/ledger?process_key=call_mini", "auditor"))["items"][2]
    assert r3["overdue_now"] is True and r3["closed_on_time"] is None

    # the default register is enterprise_call's; none deployed here: an empty register
    empty = siji.ok(siji.get("/api/ledger", "auditor"))
    assert (empty["process_key"], empty["total"], empty["items"]) == ("enterprise_call", 0, [])


def test_ledger_tolerates_a_flow_without_ledger_fields(siji):
    siji.deploy_paths(MINI)
    iid = siji.start("mini", "ent_a", START)["id"]
    siji.complete("bureau", iid, "Task_Review", {"complete": True})
    item = siji.ok(siji.get("/api/ledger?process_key=mini", "auditor"))["items"][0]
    assert item["number"] == str(iid) and item["enterprise"] == "甲公司"
    assert item["handling_unit"] is None and item["responsible_person"] is None
    # no limit in the data: the review's deadline (3 days) stands in
    assert item["time_limit"] == at(timedelta(days=3)) and item["closed_on_time"] is True


# ------------------------------------------------------------------ the real 呼叫即回应 register
ROOT = DATA.parent.parent


def enterprise_call_files() -> dict[str, bytes]:
    files = {
        "enterprise_call.bpmn": (ROOT / "bpmn/enterprise_call.bpmn").read_bytes(),
        "enterprise_call.settings.json": (ROOT / "bpmn/enterprise_call.settings.json").read_bytes(),
    }
    for form in sorted((ROOT / "forms/enterprise_call").glob("*.form")):
        files[f"forms/enterprise_call/{form.name}"] = form.read_bytes()
    return files


def test_enterprise_call_ledger(siji):
    """bpmn/enterprise_call.bpmn as deployed: one problem assigned, handled and confirmed; one
    major problem explained; one just reported. Limits are working days on China's calendar from
    Friday 2025-09-26: general (5) ends 2025-10-10, major (2) ends 2025-09-29 (28 September is a
    make-up working day; 1–8 October are holidays)."""
    siji.ok(siji.deploy_files(enterprise_call_files()), 201)
    siji.add_user("com_wang", ["commissioner"], pair_with=["ent_a", "ent_b"])
    siji.add_user("econ", ["economic_dev"])
    siji.add_user("lgo", ["leading_group_office"])
    siji.add_user("nrp", ["natural_resources"])
    today = (T0 + timedelta(hours=8)).date().isoformat()
    call = {
        "channel": "platform",
        "enterprise_name": "济宁高新区示例科技有限公司",
        "uscc": "91370800MA3D4R7P1B",
        "contact_person": "联系人",
        "contact_phone": "13900000000",
        "problem_title": "厂区道路照明不足",
        "problem_description": "夜间通行不便。",
        "handling_unit": "urban_management",
    }
    c1 = siji.start("enterprise_call", "ent_a", call)["id"]
    c2 = siji.start("enterprise_call", "ent_b", dict(call, enterprise_name="乙公司", problem_title="用电"))["id"]
    siji.start("enterprise_call", "ent_a", dict(call, problem_title="招工"), business_key="ZQ-WEB-3")["id"]
    siji.complete(
        "econ",
        c1,
        "Task_RegisterProblem",
        {
            "problem_no": "ZQ20250926-001",
            "problem_category": "general",
            "responsible_person": "企业服务科",
            "handling_unit": "urban_management",
        },
    )
    siji.complete(
        "com_wang",
        c1,
        "Task_TriageProblem",
        {"triage_result": "assign", "triage_note": "交办", "handling_unit": "natural_resources"},
    )
    siji.advance(timedelta(hours=2))
    siji.complete(
        "nrp",
        c1,
        "Task_HandleProblem",
        {
            "handling_verified": True,
            "handling_result": "已安装",
            "reply_to_enterprise": "请确认",
            "handling_officer": "市政科",
            "handled_date": today,
        },
    )
    siji.complete("ent_a", c1, "Task_ConfirmResolution", {"resolution_confirmed": True, "satisfaction": "satisfied"})
    siji.complete(
        "econ",
        c2,
        "Task_RegisterProblem",
        {
            "problem_no": "ZQ20250926-002",
            "problem_category": "major",
            "responsible_person": "分管领导",
            "handling_unit": "utility_operator",
        },
    )
    siji.complete("com_wang", c2, "Task_TriageProblem", {"triage_result": "explain", "triage_note": "规划调整"})
    siji.complete(
        "com_wang",
        c2,
        "Task_ExplainToEnterprise",
        {"objective_reason": "规划调整", "reply_to_enterprise": "已说明", "explained_date": today},
    )
    siji.complete("ent_b", c2, "Task_ConfirmResolution", {"resolution_confirmed": True, "satisfaction": "satisfied"})

    body = siji.ok(siji.get("/api/ledger?process_key=enterprise_call", "lgo"))
    assert siji.ok(siji.get("/api/ledger", "lgo")) == body  # enterprise_call is the default
    assert body["process_name"] == "呼叫即回应" and body["total"] == 3
    r1, r2, r3 = body["items"]
    assert (r1["number"], r1["enterprise"], r1["responsible_person"]) == (
        "ZQ20250926-001",
        "济宁高新区示例科技有限公司",
        "企业服务科",
    )
    assert r1["handling_unit"] == [{"code": "natural_resources", "name": "自然资源和规划局"}]  # the triage's choice
    assert r1["time_limit"] == "2025-10-10T15:59:59+00:00" and r1["limit_workdays"] == 5
    assert (r1["status"], r1["status_name"], r1["closed_on_time"]) == ("completed", "问题已销号", True)
    assert r1["summary"] == "厂区道路照明不足"
    assert (r2["number"], r2["enterprise"], r2["status_name"]) == (
        "ZQ20250926-002",
        "乙公司",
        "已解释说明，企业确认后销号",
    )
    assert r2["time_limit"] == "2025-09-29T15:59:59+00:00" and r2["closed_on_time"] is True
    assert r2["handling_unit"][0]["name"] == "市政公用服务专营单位"
    assert (r3["number"], r3["status_name"], r3["time_limit"], r3["closed_on_time"]) == (
        "ZQ-WEB-3",
        "办理中",
        None,
        None,
    )
    assert r3["handling_unit"] == [{"code": "urban_management", "name": "城市管理局"}]  # as the enterprise chose
    assert [a["id"] for a in r3["current_activities"]] == ["Task_RegisterProblem"]


def test_reports_by_flow_and_the_overdue_list(siji):
    """`process_key` narrows both reports to one flow; /api/reports/overdue lists the open tasks
    past their deadline, as many as the departments report's open_overdue."""
    siji.deploy_paths(MINI)
    ids = mini_timeline(siji)
    siji.add_user("lgo", ["leading_group_office"])
    siji.clock.advance(timedelta(days=4))  # E's review is past its deadline; the worker idle
    whole = siji.ok(siji.get("/api/reports/departments", "lgo"))
    mini = siji.ok(siji.get("/api/reports/departments?process_key=mini", "lgo"))
    assert mini["departments"] == whole["departments"] and mini["process_key"] == "mini"
    other = siji.ok(siji.get("/api/reports/departments?process_key=no_such_flow", "lgo"))
    assert other["items"] == [] and other["departments"] == []
    assert (
        siji.ok(siji.get("/api/reports/flows?process_key=mini", "lgo"))["items"]
        == siji.ok(siji.get("/api/reports/flows", "lgo"))["items"]
    )
    assert siji.ok(siji.get("/api/reports/flows?process_key=no_such_flow", "lgo"))["items"] == []

    late = siji.ok(siji.get("/api/reports/overdue", "lgo"))
    assert late["total"] == sum(d["open_overdue"] for d in whole["departments"]) == 1
    (item,) = late["items"]
    assert item["process_instance_id"] == ids["E"] and item["activity_id"] == "Task_Review"
    assert item["business_key"] == "MINI-E" and item["role_name"] == "行政审批服务局"
    assert item["process_name"] == "测试流程" and item["overdue_hours"] == 24.0
    assert item["assignee"] is None
    assert siji.ok(siji.get("/api/reports/overdue?process_key=no_such_flow", "lgo"))["total"] == 0
    assert siji.ok(siji.get("/api/reports/overdue?role=fire_rescue", "lgo"))["total"] == 0
    assert siji.get("/api/reports/overdue", "bureau").status_code == 403
    r = siji.get("/api/reports/overdue?per_page=0", "lgo")
    assert r.status_code == 422 and "per_page" in r.get_json()["fields"]
