"""建成即使用 (completion_acceptance) scenario tests, through the HTTP API as the real participants.

The joint acceptance group of the plan: 行政审批服务局 takes the application in at the 基本建设综合窗口
(受理, 一次告知 when incomplete), 城市管理局 has its own special acceptance, the combined completion
survey (竣工测验合一) is shown read-only to 规划核实 and compared with the permitted floor area, and
each special-acceptance department uploads its own result.

Paths (each on SQLite and PostgreSQL):
  C1 happy path: combined survey, application, window intake, eight special reviews in parallel,
     on-site acceptance round 1 with eight signatures (规划核实 issues its certificate on the
     survey), eight uploads by their own departments ∥ filing ∥ utilities → End_DeliveredForUse.
  C2 the window asks once for missing materials; special reviews fail twice (supplement loop ×2);
     on-site acceptance fails twice: round 1
     rectified within the limit (timer cancelled), round 2 overdue (non-interrupting timer →
     the leading-group office supervises, rectification stays open); round 3 passes
     → End_DeliveredForUse with acceptance_round 3.
  C3 overdue rectification where the builder finishes before the office closes its supervision.

The rectification limit is 15 working days on China's calendar: armed on Friday 2025-09-26 it
ends on 2025-10-23 (Sunday 09-28 and Saturday 10-11 are make-up working days, 10-01…10-08 is the
National Day holiday); armed on Friday 2025-10-10 it ends on 2025-10-30.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flows_build import ROOT, USERS, Case, parse_utc, segments, setup, today, uscc

KEY = "completion_acceptance"
SETTINGS = json.loads((ROOT / "bpmn" / f"{KEY}.settings.json").read_text(encoding="utf-8"))
CHINA = timezone(timedelta(hours=8))

# (key prefix, activity suffix, department role): the seven special acceptance items
ITEMS = [
    ("civil_air_defence", "CivilAirDefence", "housing_construction"),
    ("energy", "EnergyEfficiency", "housing_construction"),
    ("archives", "UrbanArchives", "housing_construction"),
    ("planning_verification", "PlanningVerification", "natural_resources"),
    ("fire", "FireSafety", "fire_rescue"),
    ("landscaping", "Landscaping", "municipal_gardens"),
    ("urban_management", "UrbanManagement", "urban_management"),
    ("utility", "UtilityReadiness", "utility_operator"),
]

ROLES = {
    "Task_CombinedCompletionSurvey": "applicant",
    "Task_ApplyJointAcceptance": "applicant",
    "Task_AcceptApplication": "approval_bureau",
    "Task_CorrectApplication": "applicant",
    "Task_SupplementApplication": "applicant",
    "Task_OrganiseOnSiteAcceptance": "housing_construction",
    "Task_RectifyDefects": "applicant",
    "Task_SuperviseOverdueRectification": "leading_group_office",
    "Task_ReapplyAfterRectification": "applicant",
    "Task_FileCompletionAcceptance": "housing_construction",
    "Task_ConnectUtilities": "utility_operator",
    **{f"Task_Review{name}": role for _, name, role in ITEMS},
    **{f"Task_Sign{name}": role for _, name, role in ITEMS},
    **{f"Task_Upload{name}": role for _, name, role in ITEMS},
}
REVIEWS = {f"Task_Review{name}" for _, name, _ in ITEMS}
SIGNS = {f"Task_Sign{name}" for _, name, _ in ITEMS}
UPLOADS = {f"Task_Upload{name}" for _, name, _ in ITEMS}
RESULTS = UPLOADS | {"Task_FileCompletionAcceptance", "Task_ConnectUtilities"}
INTAKE = ["Task_CombinedCompletionSurvey", "Task_ApplyJointAcceptance", "Task_AcceptApplication"]

BUILDER = uscc("91370800MA3C5G7K2")
SURVEY_AGENCY = uscc("91370800MA3D12345")
PARTIES = [uscc(f"9137080016305{i:04d}") for i in range(4)]
START = {
    "builder_name": "济宁高新示范制造有限公司",
    "builder_uscc": BUILDER,
    "contact_name": "王经理",
    "contact_phone": "13800000000",
    "project_name": "高端装备制造基地项目一期",
    "project_code": "2025-370871-34-03-012345",
    "parcel_code": "370871001002GB00012",
    "construction_permit_no": "370871202510130101",
    "permitted_floor_area": 80000,
    "project_address": "济宁高新区新材料工业园",
}
MEASURED = 80123.45
RECTIFICATION_LIMIT = "Event_RectificationOverdue"


def cn_end_of_day(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=23, minute=59, second=59, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def acceptance(siji):
    setup(siji)
    return siji


# ---------------------------------------------------------------- steps shared by the paths
def apply(case: Case, incomplete: bool = False) -> None:
    """Survey, application, and the window's intake at 行政审批服务局 (with `incomplete`: it first
    tells the builder everything missing at once and the builder corrects)."""
    siji = case.siji
    case.expect_open("Task_CombinedCompletionSurvey")
    case.do(
        "Task_CombinedCompletionSurvey",
        {
            "survey_agency_name": "济宁市综合测绘院",
            "survey_agency_uscc": SURVEY_AGENCY,
            "survey_report_no": "CH-2025-009",
            "survey_date": today(siji),
            "measured_floor_area": MEASURED,
        },
    )
    case.expect_open("Task_ApplyJointAcceptance")
    case.do(
        "Task_ApplyJointAcceptance",
        {
            "self_acceptance_date": today(siji),
            "application_channel": "online",
            "acceptance_parties": [
                {"party_role": r, "party_name": n, "party_uscc": u}
                for (r, n), u in zip(
                    [
                        ("survey", "济宁勘察院"),
                        ("design", "济宁市建筑设计研究院"),
                        ("construction", "山东某建工集团"),
                        ("supervision", "济宁某监理公司"),
                    ],
                    PARTIES,
                )
            ],
        },
    )
    case.expect_open("Task_AcceptApplication")
    if incomplete:
        case.refused("Task_AcceptApplication", {"application_accepted": False}, "missing_materials")
        case.do(
            "Task_AcceptApplication",
            {"application_accepted": False, "missing_materials": "缺少消防设施检测报告；缺少人防工程竣工图"},
        )
        case.expect_open("Task_CorrectApplication")
        case.do("Task_CorrectApplication", {"correction_note": "已补充消防设施检测报告和人防工程竣工图"})
        case.expect_open("Task_AcceptApplication")
    case.refused("Task_AcceptApplication", {"application_accepted": True}, "intake_no")
    case.do("Task_AcceptApplication", {"application_accepted": True, "intake_no": "JSCK-2025-0031"})


def special_reviews(case: Case, fail=(), done=()) -> None:
    """The eight departments review the application in parallel (reverse drawing order); `done`
    the items the test has already reviewed itself."""
    case.expect_open(*(f"Task_Review{name}" for p, name, _ in ITEMS if p not in done))
    for p, name, _ in reversed(ITEMS):
        if p in done:
            continue
        if p in fail:
            case.do(
                f"Task_Review{name}", {f"{p}_review_passed": False, f"{p}_review_opinion": f"{p}：申请材料缺少检测报告"}
            )
        else:
            case.do(f"Task_Review{name}", {f"{p}_review_passed": True})


def supplement(case: Case, failed: list[str], note: str) -> None:
    """In its case view the applicant sees exactly this round's failed items and their opinions."""
    case.expect_open("Task_SupplementApplication")
    data = case.instance("ent_a")["data"]
    assert [p for p, _, _ in ITEMS if data[f"{p}_review_passed"] is False] == failed
    assert sorted(k for k in data if k.endswith("_review_opinion")) == sorted(f"{p}_review_opinion" for p in failed)
    case.do("Task_SupplementApplication", {"supplement_note": note})


def on_site(case: Case, fail=(), round_no: int = 1) -> None:
    """Housing organises the on-site acceptance; the eight departments sign in parallel; 规划核实
    issues its certificate on the combined survey it is shown."""
    siji = case.siji
    case.expect_open("Task_OrganiseOnSiteAcceptance")
    assert case.instance()["data"]["acceptance_round"] == round_no
    case.do("Task_OrganiseOnSiteAcceptance", {"onsite_date": today(siji), "onsite_location": "项目现场"})
    case.expect_open(*SIGNS)
    for p, name, _ in ITEMS:
        if p in fail:
            case.do(
                f"Task_Sign{name}",
                {
                    f"{p}_onsite_passed": False,
                    f"{p}_onsite_opinion": f"第{round_no}轮：存在不合格项，限期整改",
                    f"{p}_rectification_items": [
                        {"item": f"{p}-疏散指示标志缺失", "requirement": "按图补设"},
                        {"item": f"{p}-通道被占用", "requirement": "清理通道"},
                    ],
                },
            )
        elif p == "planning_verification":
            case.refused(f"Task_Sign{name}", {f"{p}_onsite_passed": True}, "planning_verification_cert_no")
            case.do(f"Task_Sign{name}", {f"{p}_onsite_passed": True, "planning_verification_cert_no": "GHHS-2025-012"})
        else:
            case.do(f"Task_Sign{name}", {f"{p}_onsite_passed": True})


def rectification_opened(case: Case, failed: list[str], round_no: int, due_day: str) -> datetime:
    """After a failed round: the applicant sees this round's rectification items only, and the
    limit (a non-interrupting timer on the rectification task) ends on `due_day` China time."""
    case.expect_open("Task_RectifyDefects")
    data = case.instance("ent_a")["data"]
    assert data["acceptance_round"] == round_no
    assert [p for p, _, _ in ITEMS if data[f"{p}_onsite_passed"] is False] == failed
    assert sorted(k for k in data if k.endswith("_rectification_items")) == sorted(
        f"{p}_rectification_items" for p in failed
    )
    assert all(len(data[f"{p}_rectification_items"]) == 2 for p in failed)
    assert "rectified_items" not in data
    waiting = case.timers()
    assert set(waiting) == {RECTIFICATION_LIMIT}
    due = parse_utc(waiting[RECTIFICATION_LIMIT]["due_at"])
    assert due == cn_end_of_day(due_day), (due, due_day)
    # non-interrupting: the task itself carries no due time of its own
    task = case.siji.task_for("ent_a", case.id, "Task_RectifyDefects")
    assert task["due_at"] is None
    return due


def rectify(case: Case, what: str) -> None:
    case.do(
        "Task_RectifyDefects",
        {
            "rectified_items": [{"item": what, "measure": "已按要求整改"}],
            "rectification_completed_date": today(case.siji),
        },
    )


def supervise(case: Case, reason: str, new_deadline: str) -> None:
    case.do(
        "Task_SuperviseOverdueRectification",
        {
            "rectification_delay_reason": reason,
            "rectification_supervision_measures": "督促整改，每周报告进度",
            "rectification_new_deadline": new_deadline,
        },
    )


def reapply(case: Case) -> None:
    case.expect_open("Task_ReapplyAfterRectification")
    case.do("Task_ReapplyAfterRectification", {"reapply_note": "已完成全部整改", "reapply_date": today(case.siji)})


def deliver(case: Case) -> dict:
    siji = case.siji
    case.expect_open(*RESULTS)
    case.do(
        "Task_ConnectUtilities",
        {"connected_utilities": ["water", "power", "gas", "heat"], "utilities_connected_date": today(siji)},
    )
    case.do("Task_FileCompletionAcceptance", {"filing_no": "BA-2025-0031", "filing_date": today(siji)})
    # each special-acceptance department uploads its own result, in its own inbox
    case.expect_open(*UPLOADS)
    for p, name, _ in reversed(ITEMS):
        case.do(f"Task_Upload{name}", {f"{p}_result_no": f"JG-{name[:6]}-01", f"{p}_result_upload_date": today(siji)})
    data = case.finished("End_DeliveredForUse", "交付使用")
    assert data["filing_no"] == "BA-2025-0031" and data["intake_no"] == "JSCK-2025-0031"
    assert {p: data[f"{p}_result_no"] for p, _, _ in ITEMS} == {p: f"JG-{name[:6]}-01" for p, name, _ in ITEMS}
    uploaders = [(a, r, u) for (a, r, u) in completed_with_actor(case) if a in UPLOADS]
    assert sorted(uploaders) == sorted((f"Task_Upload{name}", role, USERS[role]) for _, name, role in ITEMS)
    assert data["planning_verification_cert_no"] == "GHHS-2025-012"
    assert data["floor_area_difference"] == round(MEASURED - START["permitted_floor_area"], 2)
    assert data["connected_utilities"] == ["water", "power", "gas", "heat"]
    assert data["builder_uscc"] == BUILDER and data["enterprise_user"] == "ent_a"
    assert data["rectification_workdays"] == SETTINGS["rectification_workdays"]
    for p, _, _ in ITEMS:
        assert data[f"{p}_review_passed"] is True and data[f"{p}_onsite_passed"] is True
        assert f"{p}_review_opinion" not in data and f"{p}_rectification_items" not in data
    return data


def completed_with_actor(case: Case) -> list[tuple[str, str, str]]:
    """(activity, role, user) of every completion in the audit trail."""
    return [(a, r, u) for (t, a, u, r) in case.trace() if t == "complete"]


def completion_events(case: Case, activity: str) -> list[dict]:
    events = case.siji.ok(case.siji.get(f"/api/process-instances/{case.id}/trace", "auditor"))["events"]
    return [e["data"]["data"] for e in events if e["transition"] == "complete" and e["activity_id"] == activity]


# ---------------------------------------------------------------- C1 happy path
def test_c1_happy_path_delivered_for_use(acceptance):
    siji = acceptance
    case = Case(siji, KEY, ROLES, START)
    apply(case)
    # 竣工测验合一: the survey result is in front of 规划核实, read-only, with its comparison
    task = siji.task_for("nrp", case.id, "Task_ReviewPlanningVerification")
    body = siji.ok(siji.get(f"/api/tasks/{task['id']}", "nrp"))
    shown = {c["key"]: c for c in body["form"]["components"] if c.get("key")}
    survey_keys = [
        "survey_agency_name",
        "survey_report_no",
        "measured_floor_area",
        "permitted_floor_area",
        "floor_area_difference",
        "floor_area_difference_pct",
    ]
    assert all(shown[k]["readonly"] is True for k in survey_keys)
    assert {k: body["data"][k] for k in survey_keys} == {
        "survey_agency_name": "济宁市综合测绘院",
        "survey_report_no": "CH-2025-009",
        "measured_floor_area": MEASURED,
        "permitted_floor_area": 80000,
        "floor_area_difference": 123.45,
        "floor_area_difference_pct": 0.15,
    }
    # a read-only field cannot be overwritten by the clerk: the submitted value is ignored
    siji.ok(
        siji.post(
            f"/api/tasks/{task['id']}/complete",
            "nrp",
            json={"data": {"planning_verification_review_passed": True, "measured_floor_area": 1}},
        )
    )
    assert case.instance()["data"]["measured_floor_area"] == MEASURED
    special_reviews(case, done=("planning_verification",))
    on_site(case)
    data = deliver(case)
    assert data["acceptance_round"] == 1 and data["application_accepted"] is True
    assert "missing_materials" not in data
    assert "rectified_items" not in data and "supplement_note" not in data
    segments(case.completed(), [INTAKE, REVIEWS, ["Task_OrganiseOnSiteAcceptance"], SIGNS, RESULTS])
    assert case.transitions("timer_armed") == []
    assert case.transitions("script") == ["Task_CompareSurveyWithPermit", "Task_InitAcceptanceRound"]
    assert case.transitions("end").count("End_OnSiteDone") == 1
    assert not {"Task_SupplementApplication", "Task_RectifyDefects", "Task_CorrectApplication"} & set(
        case.transitions("scheduled")
    )


# ---------------------------------------------------------------- C2 loops and the overdue rectification
def test_c2_supplements_rectifications_and_overdue_supervision(acceptance):
    siji = acceptance
    case = Case(siji, KEY, ROLES, START)
    apply(case, incomplete=True)
    # special reviews: fire fails, then fire and landscaping fail, then all pass
    case.refused("Task_ReviewFireSafety", {"fire_review_passed": False}, "fire_review_opinion")
    special_reviews(case, fail=("fire",))
    supplement(case, ["fire"], "补充消防检测报告")
    special_reviews(case, fail=("fire", "landscaping"))
    supplement(case, ["fire", "landscaping"], "补充消防检测报告与绿化面积测算")
    special_reviews(case)

    # round 1 (Friday 2025-09-26): fire fails; rectified on day 14, before the limit
    assert siji.clock.now().astimezone(CHINA).date().isoformat() == "2025-09-26"
    on_site(case, fail=("fire",), round_no=1)
    due1 = rectification_opened(case, ["fire"], 1, "2025-10-23")
    assert siji.advance(timedelta(days=14)) == 0
    case.refused(
        "Task_RectifyDefects", {"rectified_items": [], "rectification_completed_date": today(siji)}, "rectified_items"
    )
    rectify(case, "fire-疏散指示标志缺失")
    assert case.timers() == {} and case.transitions("timer_cancelled") == [RECTIFICATION_LIMIT]
    reapply(case)

    # round 2 (Friday 2025-10-10): landscaping and utility fail; the limit passes
    on_site(case, fail=("landscaping", "utility"), round_no=2)
    due2 = rectification_opened(case, ["landscaping", "utility"], 2, "2025-10-30")
    case.advance_past(RECTIFICATION_LIMIT, due2)
    case.expect_open("Task_RectifyDefects", "Task_SuperviseOverdueRectification")
    supervise(case, "苗木供应延迟", "2025-11-14")
    case.expect_open("Task_RectifyDefects")
    rectify(case, "landscaping-疏散指示标志缺失")
    reapply(case)

    # round 3: everything passes
    on_site(case, round_no=3)
    data = deliver(case)
    assert data["acceptance_round"] == 3
    # the previous rounds' rectification records were cleared for the next round ...
    assert "rectified_items" not in data and "rectification_supervision_measures" not in data
    # ... and stay in the trace
    assert (
        completion_events(case, "Task_SuperviseOverdueRectification")[0]["rectification_delay_reason"] == "苗木供应延迟"
    )
    assert [d["rectified_items"][0]["item"] for d in completion_events(case, "Task_RectifyDefects")] == [
        "fire-疏散指示标志缺失",
        "landscaping-疏散指示标志缺失",
    ]

    organise = ["Task_OrganiseOnSiteAcceptance"]
    segments(
        case.completed(),
        [
            INTAKE + ["Task_CorrectApplication", "Task_AcceptApplication"],
            REVIEWS,
            ["Task_SupplementApplication"],
            REVIEWS,
            ["Task_SupplementApplication"],
            REVIEWS,
            organise,
            SIGNS,
            ["Task_RectifyDefects", "Task_ReapplyAfterRectification"],
            organise,
            SIGNS,
            ["Task_SuperviseOverdueRectification", "Task_RectifyDefects", "Task_ReapplyAfterRectification"],
            organise,
            SIGNS,
            RESULTS,
        ],
    )
    done = case.completed()
    assert done.count("Task_ReviewFireSafety") == 3 and done.count("Task_SupplementApplication") == 2
    assert done.count("Task_SignFireSafety") == 3 and done.count("Task_RectifyDefects") == 2
    scripts = case.transitions("script")
    assert scripts.count("Task_ClearSpecialReviewResults") == 2
    assert [s for s in scripts if "AcceptanceRound" in s] == [
        "Task_InitAcceptanceRound",
        "Task_NextAcceptanceRound",
        "Task_NextAcceptanceRound",
    ]
    assert case.transitions("end").count("End_OnSiteDone") == 3
    assert case.transitions("end").count("End_SpecialReviewDone") == 3
    # timers: armed twice, the first cancelled by the rectification, the second fired
    assert case.transitions("timer_armed") == [RECTIFICATION_LIMIT, RECTIFICATION_LIMIT]
    assert case.transitions("timer_cancelled") == [RECTIFICATION_LIMIT]
    assert case.transitions("timer_fired") == [RECTIFICATION_LIMIT]
    rows = case.instance()["timers"]
    assert [(r["status"], parse_utc(r["due_at"])) for r in rows] == [("cancelled", due1), ("fired", due2)]
    supervised = [
        (a, r) for (t, a, _, r) in case.trace() if t == "scheduled" and a == "Task_SuperviseOverdueRectification"
    ]
    assert supervised == [("Task_SuperviseOverdueRectification", "leading_group_office")]


# ---------------------------------------------------------------- C3 overdue, the builder finishes first
def test_c3_overdue_rectification_builder_finishes_before_supervision(acceptance):
    siji = acceptance
    case = Case(siji, KEY, ROLES, START)
    apply(case)
    special_reviews(case)
    on_site(case, fail=("archives",), round_no=1)
    due = rectification_opened(case, ["archives"], 1, "2025-10-23")
    case.advance_past(RECTIFICATION_LIMIT, due)
    case.expect_open("Task_RectifyDefects", "Task_SuperviseOverdueRectification")
    rectify(case, "archives-疏散指示标志缺失")
    # the re-application waits until the office has closed its supervision
    case.expect_open("Task_SuperviseOverdueRectification")
    supervise(case, "档案整理滞后", "2025-10-31")
    reapply(case)
    on_site(case, round_no=2)
    data = deliver(case)
    assert data["acceptance_round"] == 2
    segments(
        case.completed(),
        [
            INTAKE,
            REVIEWS,
            ["Task_OrganiseOnSiteAcceptance"],
            SIGNS,
            [
                "Task_RectifyDefects",
                "Task_SuperviseOverdueRectification",
                "Task_ReapplyAfterRectification",
                "Task_OrganiseOnSiteAcceptance",
            ],
            SIGNS,
            RESULTS,
        ],
    )
    assert case.transitions("timer_armed") == [RECTIFICATION_LIMIT]
    assert case.transitions("timer_fired") == [RECTIFICATION_LIMIT]
    assert case.transitions("timer_cancelled") == []
    ends = case.transitions("end")
    assert ends.index("End_RectificationDone") < ends.index("End_SupervisionDone")
