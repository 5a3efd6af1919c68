"""拿地即开工 (land_to_construction) scenario tests, through the HTTP API as the real participants.

The plan's order (规划设计方案提前到供地方案前): the joint design review comes BEFORE the land supply
plan; bidding and intermediary preparation runs alongside and only joins before the geological
survey and the drawing design; the public notice and the listing periods run from the dates the
clerk enters (notice_start_date, listing_start_date).

Paths (each on SQLite and PostgreSQL):
  L1 happy path: scope check, guidance, natural resources confirms there is no design scheme with
     the land, joint review passes, then notice (from its entered start date) ∥ land pre-review →
     land supply plan ∥ (bidding, finished late, then survey ∥ drawing design); listing (from its
     entered start date) with the drawing review inside it; contract; four certificates the same
     day → End_ReadyToBuild.
  L2 excluded by the DMN table (three exclusion rules) → End_OrdinaryProcedure, no task at all.
  L3 the park does not confirm the project → End_ProjectNotConfirmed (terminate: the bidding task
     still open is cancelled).
  L4 joint review rejected twice, a notice objection upheld (scheme revised, notice published
     again), drawings rejected twice during the listing period, two certificates not issued by the
     end of the signing day → escalations to the leading-group office → End_ReadyToBuild.
  L5 land transferred with its design scheme: no joint review → End_ReadyToBuild.
  L6 listing lost → End_LandNotAcquired.
  L7 the plan's shortcut: a project that already meets the conditions applies for the joint review
     directly (no guidance tasks); one that does not is sent to guidance first.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from flows_build import ROOT, Case, end_of_china_day, parse_utc, segments, setup, today, uscc

KEY = "land_to_construction"
SETTINGS = json.loads((ROOT / "bpmn" / f"{KEY}.settings.json").read_text(encoding="utf-8"))
NOTICE_DAYS = SETTINGS["notice_period_days"]
LISTING_DAYS = SETTINGS["listing_period_days"]

# Who does what, from the plan's division of labour (not read from the diagram).
ROLES = {
    "Task_GuideProjectInvestment": "investment_promotion",
    "Task_ConfirmProjectPark": "park_service_center",
    "Task_PrepareBiddingIntermediary": "applicant",
    "Task_CheckDirectApplication": "natural_resources",
    "Task_ConfirmDesignScheme": "natural_resources",
    "Task_DetermineLandSupply": "natural_resources",
    "Task_ReviseSchemeForObjection": "applicant",
    "Task_SubmitDesignScheme": "applicant",
    "Task_ReviewDesignEconomic": "economic_dev",
    "Task_ReviewDesignEnvironment": "ecology_env",
    "Task_ReviewDesignWater": "water_affairs",
    "Task_ReviewDesignUrban": "urban_management",
    "Task_ReviewDesignPlanning": "natural_resources",
    "Task_ReviewDesignConstruction": "housing_construction",
    "Task_ReviseDesignScheme": "applicant",
    "Task_PublishPreApprovalNotice": "natural_resources",
    "Task_RecordNoticeResult": "natural_resources",
    "Task_IssueLandPreReviewOpinion": "natural_resources",
    "Task_GeologicalSurvey": "applicant",
    "Task_ConstructionDrawingDesign": "applicant",
    "Task_ListLand": "natural_resources",
    "Task_ReviewConstructionDrawings": "housing_construction",
    "Task_ReviseConstructionDrawings": "applicant",
    "Task_ConfirmListingResult": "natural_resources",
    "Task_SignLandContract": "natural_resources",
    "Task_IssueLandUsePlanningPermit": "natural_resources",
    "Task_IssueRealEstateCertificate": "natural_resources",
    "Task_IssueConstructionPlanningPermit": "natural_resources",
    "Task_IssueConstructionPermit": "housing_construction",
    "Task_EscalateLandUsePlanningPermit": "leading_group_office",
    "Task_EscalateRealEstateCertificate": "leading_group_office",
    "Task_EscalateConstructionPlanningPermit": "leading_group_office",
    "Task_EscalateConstructionPermit": "leading_group_office",
}

ENT = uscc("91370800MA3C5G7K2")
DESIGNER = uscc("91370800163051234")
SURVEYOR = uscc("91370800MA3D12345")
PARCEL = "370871001002GB00012"
START = {
    "enterprise_name": "济宁高新示范制造有限公司",
    "enterprise_uscc": ENT,
    "contact_name": "王经理",
    "contact_phone": "13800000000",
    "project_name": "高端装备制造基地项目",
    "project_code": "2025-370871-34-03-012345",
    "project_type": "new",
    "key_industrial": True,
    "conforms_to_plan": True,
    "in_industrial_park": True,
    "park_name": "新材料工业园",
    "hazardous_chemicals": "none",
    "chemical_with_hazardous_byproducts": False,
    "other_major": False,
    "planned_investment": 50000,
    "requested_land_area": 66666.67,
    "direct_joint_review": False,
}

BIDDING = "Task_PrepareBiddingIntermediary"
GUIDANCE = {"Task_GuideProjectInvestment", "Task_ConfirmProjectPark"}
# (activity, key prefix) of the six departments of the design-scheme joint review
REVIEWS = [
    ("Task_ReviewDesignEconomic", "economic"),
    ("Task_ReviewDesignEnvironment", "environment"),
    ("Task_ReviewDesignWater", "water"),
    ("Task_ReviewDesignUrban", "urban"),
    ("Task_ReviewDesignPlanning", "planning"),
    ("Task_ReviewDesignConstruction", "construction"),
]
REVIEW_TASKS = {a for a, _ in REVIEWS}
NOTICE_START = "2025-10-09"  # entered by the clerk; the notice runs from this date, not from the task
LISTING_START_AFTER = 2  # the listing starts two days after the listing task is done
SURVEY_DESIGN = {"Task_GeologicalSurvey", "Task_ConstructionDrawingDesign"}
CERTS = {
    "Task_IssueLandUsePlanningPermit": ("land_use_permit", "地字第370871202500012号"),
    "Task_IssueRealEstateCertificate": ("real_estate_cert", "鲁(2025)济宁市不动产权第0012345号"),
    "Task_IssueConstructionPlanningPermit": ("construction_planning_permit", "建字第370871202500012号"),
    "Task_IssueConstructionPermit": ("construction_permit", "370871202510130101"),
}
OVERDUE = {
    "Task_IssueLandUsePlanningPermit": "Event_LandUsePlanningPermitOverdue",
    "Task_IssueRealEstateCertificate": "Event_RealEstateCertificateOverdue",
    "Task_IssueConstructionPlanningPermit": "Event_ConstructionPlanningPermitOverdue",
    "Task_IssueConstructionPermit": "Event_ConstructionPermitOverdue",
}
ESCALATE = {
    "Task_IssueLandUsePlanningPermit": "Task_EscalateLandUsePlanningPermit",
    "Task_IssueRealEstateCertificate": "Task_EscalateRealEstateCertificate",
    "Task_IssueConstructionPlanningPermit": "Task_EscalateConstructionPlanningPermit",
    "Task_IssueConstructionPermit": "Task_EscalateConstructionPermit",
}


CHINA = timezone(timedelta(hours=8))


def period_end(first_day: str, days: int) -> datetime:
    """End (23:59:59 China time, in UTC) of a period of `days` calendar days whose first day is
    `first_day` (a China-local date): how the notice and listing timers are set."""
    d = datetime.fromisoformat(first_day).replace(hour=12, tzinfo=CHINA) + timedelta(days=days - 1)
    return end_of_china_day(d)


def days_from_today(siji, n: int) -> str:
    return (siji.clock.now().astimezone(CHINA).date() + timedelta(days=n)).isoformat()


@pytest.fixture
def land(siji):
    setup(siji)
    return siji


def begin(siji, **start) -> Case:
    return Case(siji, KEY, ROLES, dict(START, **start))


# ---------------------------------------------------------------- steps shared by the paths
def bidding(case: Case) -> None:
    case.do(
        BIDDING,
        {
            "intermediary_services": [
                {"service_type": "survey", "provider_name": "济宁勘察院", "provider_uscc": SURVEYOR}
            ]
        },
    )


def guidance(case: Case, park_confirmed: bool = True, also_open=(BIDDING,)) -> None:
    """投资促进局 and the park in parallel; the enterprise's bidding preparation (`also_open`)
    stays open beside them and holds nothing."""
    case.expect_open(*GUIDANCE, *also_open)
    if park_confirmed:
        case.do("Task_ConfirmProjectPark", {"park_confirmed": True, "park_confirmed_name": "新材料工业园"})
    else:
        case.refused("Task_ConfirmProjectPark", {"park_confirmed": False}, "park_opinion")
        case.do("Task_ConfirmProjectPark", {"park_confirmed": False, "park_opinion": "园区暂无可供用地"})
    case.expect_open("Task_GuideProjectInvestment", *also_open)  # the join waits for the other branch
    case.do("Task_GuideProjectInvestment", {"investment_confirmed": True, "investment_guidance": "按重点产业项目推进"})


def confirm_design_scheme(case: Case, with_design_scheme: bool, also_open=(BIDDING,)) -> None:
    """Natural resources says, before any review, whether the land goes with a design scheme; the
    form shows the project read-only (Case.do checks those fields have case data)."""
    case.expect_open("Task_ConfirmDesignScheme", *also_open)
    case.do(
        "Task_ConfirmDesignScheme",
        {"land_with_design_scheme": with_design_scheme, "design_scheme_confirm_note": "核对供地计划"},
    )


def submit_scheme(case: Case, also_open=(BIDDING,)) -> None:
    case.expect_open("Task_SubmitDesignScheme", *also_open)
    case.do(
        "Task_SubmitDesignScheme",
        {
            "design_scheme_title": "高端装备制造基地总平面方案",
            "design_unit_name": "济宁市建筑设计研究院",
            "design_unit_uscc": DESIGNER,
            "total_floor_area": 80000,
            "plot_ratio": 1.2,
            "scheme_submitted_date": today(case.siji),
        },
    )


def joint_review(case: Case, reject=(), also_open=(BIDDING,)) -> None:
    """One round of the six parallel department reviews (reverse order); `reject` the key prefixes
    of the departments that do not pass the scheme."""
    case.expect_open(*REVIEW_TASKS, *also_open)
    for activity, p in reversed(REVIEWS):
        if p in reject:
            case.do(
                activity, {f"{p}_review_passed": False, f"{p}_review_opinion": f"{p}：容积率不符合规划条件，请调整"}
            )
        else:
            case.do(activity, {f"{p}_review_passed": True})


def revise_scheme(case: Case, note: str, failed: list[str], also_open=(BIDDING,)) -> None:
    """The applicant sees exactly this round's failing departments' opinions (read-only fields of
    the revision form, and its case view)."""
    case.expect_open("Task_ReviseDesignScheme", *also_open)
    data = case.instance("ent_a")["data"]
    assert [p for _, p in REVIEWS if data[f"{p}_review_passed"] is False] == failed, data
    assert sorted(k for k in data if k.endswith("_review_opinion")) == sorted(f"{p}_review_opinion" for p in failed)
    case.do("Task_ReviseDesignScheme", {"scheme_revision_note": note, "scheme_revised_date": today(case.siji)})


def publish_notice(case: Case, first_day: str, no: str = "GS-2025-018") -> datetime:
    """The notice runs from the date the clerk enters, not from the moment the task is done."""
    case.do(
        "Task_PublishPreApprovalNotice",
        {"notice_no": no, "notice_place": "http://www.jnhnew.gov.cn/", "notice_start_date": first_day},
    )
    due = period_end(first_day, NOTICE_DAYS)
    assert parse_utc(case.timers()["Event_NoticePeriodEnds"]["due_at"]) == due
    assert "Task_RecordNoticeResult" not in case.open_tasks()
    return due


def land_supply(case: Case) -> None:
    """Land pre-review (with the notice), then the land supply plan: after the design scheme."""
    case.do(
        "Task_IssueLandPreReviewOpinion",
        {
            "land_prereview_no": "济高新自然资预〔2025〕18号",
            "land_prereview_date": today(case.siji),
            "land_prereview_opinion": "同意",
        },
    )
    assert "Task_DetermineLandSupply" in case.open_tasks()
    case.do(
        "Task_DetermineLandSupply",
        {"parcel_code": PARCEL, "parcel_area": 66666.67, "land_supply_note": "按已通过的设计方案拟定供地方案"},
    )


def survey_and_design(case: Case) -> None:
    siji = case.siji
    case.do(
        "Task_GeologicalSurvey",
        {
            "survey_unit_name": "济宁勘察院",
            "survey_unit_uscc": SURVEYOR,
            "survey_report_no": "KC-2025-033",
            "survey_completed_date": today(siji),
        },
    )
    case.do(
        "Task_ConstructionDrawingDesign",
        {
            "drawing_design_unit_name": "济宁市建筑设计研究院",
            "drawing_design_unit_uscc": DESIGNER,
            "drawing_set_no": "SG-2025-101",
            "drawing_completed_date": today(siji),
        },
    )


def record_notice(case: Case, upheld: bool | None = None) -> None:
    """`upheld` None: no objection; otherwise an objection was received and upheld or not."""
    case.expect_open("Task_RecordNoticeResult")
    if upheld is None:
        case.do("Task_RecordNoticeResult", {"notice_objections_received": False})
        return
    case.refused(
        "Task_RecordNoticeResult",
        {"notice_objections_received": True},
        "notice_objection_upheld",
        "notice_objection_handling",
    )
    case.do(
        "Task_RecordNoticeResult",
        {
            "notice_objections_received": True,
            "notice_objection_upheld": upheld,
            "notice_objection_handling": "相邻单位反映日照间距不足，经核实" + ("成立" if upheld else "不成立"),
        },
    )


def pre_listing(case: Case, bidding_done: bool = False) -> dict:
    """After the design scheme: notice ∥ (pre-review → land supply) ∥ (bidding → survey ∥ design).
    Survey and drawing design wait for the bidding preparation; the government steps do not."""
    waiting = () if bidding_done else (BIDDING,)
    gov = {"Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion"}
    case.expect_open(*gov, *(SURVEY_DESIGN if bidding_done else waiting))
    due = publish_notice(case, NOTICE_START)
    land_supply(case)
    if not bidding_done:
        case.expect_open(BIDDING)  # only the notice period and the enterprise
        bidding(case)
    case.expect_open(*SURVEY_DESIGN)
    survey_and_design(case)
    case.expect_open()  # only the notice period is running
    case.advance_past("Event_NoticePeriodEnds", due)
    record_notice(case)
    return {"notice_due": due}


def listing(case: Case, drawing_rejections: int = 0, won: bool = True) -> dict:
    """Land listing from the entered start date, the drawing review inside the listing period."""
    siji = case.siji
    case.expect_open("Task_ListLand")
    first_day = days_from_today(siji, LISTING_START_AFTER)
    case.do(
        "Task_ListLand",
        {
            "listing_notice_no": "济高新土挂〔2025〕5号",
            "listing_parcel_code": PARCEL,
            "listing_start_price": 3000,
            "listing_start_date": first_day,
        },
    )
    due = period_end(first_day, LISTING_DAYS)
    case.expect_open("Task_ReviewConstructionDrawings")
    assert set(case.timers()) == {"Event_ListingPeriodEnds"}
    for i in range(drawing_rejections):
        siji.advance(timedelta(days=1))  # the reviews take days inside the period
        case.do(
            "Task_ReviewConstructionDrawings",
            {"drawing_review_passed": False, "drawing_review_opinion": f"第{i + 1}次审查：结构计算书缺失"},
        )
        case.expect_open("Task_ReviseConstructionDrawings")
        case.do("Task_ReviseConstructionDrawings", {"drawing_revision_note": f"第{i + 1}次修改：已补充结构计算书"})
    case.expect_open("Task_ReviewConstructionDrawings")
    case.do("Task_ReviewConstructionDrawings", {"drawing_review_passed": True, "drawing_review_cert_no": "SC-2025-077"})
    case.expect_open()  # the listing period is still running
    case.advance_past("Event_ListingPeriodEnds", due)
    case.expect_open("Task_ConfirmListingResult")
    if won:
        case.do("Task_ConfirmListingResult", {"listing_won": True, "transaction_price": 3100})
    else:
        case.refused("Task_ConfirmListingResult", {"listing_won": False}, "listing_result_note")
        case.do("Task_ConfirmListingResult", {"listing_won": False, "listing_result_note": "其他竞买人竞得"})
    return {"listing_due": due, "listing_start": first_day}


def sign_contract(case: Case) -> dict:
    siji = case.siji
    case.expect_open("Task_SignLandContract")
    signed_at = siji.clock.now()
    case.do(
        "Task_SignLandContract",
        {
            "contract_no": "3708712025B00012",
            "contract_date": today(siji),
            "transfer_price": 3100,
            "contract_land_area": 66666.67,
        },
    )
    case.expect_open(*CERTS)
    deadline = end_of_china_day(signed_at)
    waiting = case.timers()
    assert set(waiting) == set(OVERDUE.values())
    assert {parse_utc(t["due_at"]) for t in waiting.values()} == {deadline}
    return {"signed_at": signed_at, "deadline": deadline}


def issue(case: Case, activity: str) -> None:
    prefix, number = CERTS[activity]
    case.do(activity, {f"{prefix}_no": number, f"{prefix}_issued_date": today(case.siji)})


def assert_certificates(data: dict) -> None:
    for prefix, number in CERTS.values():
        assert data[f"{prefix}_no"] == number


def finish_ready_to_build(case: Case) -> dict:
    listing(case)
    sign_contract(case)
    for activity in CERTS:
        issue(case, activity)
    return case.finished("End_ReadyToBuild", "具备开工条件")


AFTER_NOTICE = [
    "Task_RecordNoticeResult",
    "Task_ListLand",
    "Task_ReviewConstructionDrawings",
    "Task_ConfirmListingResult",
    "Task_SignLandContract",
]


# ---------------------------------------------------------------- L1 happy path
def test_l1_design_review_before_land_supply_ready_to_build(land):
    siji = land
    case = begin(siji)
    guidance(case)
    confirm_design_scheme(case, with_design_scheme=False)
    submit_scheme(case)
    joint_review(case)
    times = pre_listing(case)
    times.update(listing(case))
    times.update(sign_contract(case))
    # all four the same day, in reverse order; each issued certificate cancels its own timer
    for activity in reversed(list(CERTS)):
        issue(case, activity)
    data = case.finished("End_ReadyToBuild", "具备开工条件")

    # the data that reached the end
    assert data["in_scope"] is True and "适用" in data["scope_reason"]
    assert data["enterprise_uscc"] == ENT and data["enterprise_user"] == "ent_a"
    assert data["investment_confirmed"] is True and data["park_confirmed"] is True
    assert data["direct_joint_review"] is False and data["land_with_design_scheme"] is False
    assert all(data[f"{p}_review_passed"] is True for _, p in REVIEWS)
    assert not [k for k in data if k.endswith("_review_opinion")]
    assert data["notice_objections_received"] is False and data["notice_period_days"] == NOTICE_DAYS
    assert data["notice_start_date"] == NOTICE_START and data["listing_start_date"] == times["listing_start"]
    assert data["drawing_review_passed"] is True and data["drawing_review_cert_no"] == "SC-2025-077"
    assert data["listing_won"] is True and data["transaction_price"] == 3100
    assert data["contract_no"] == "3708712025B00012" and data["parcel_code"] == PARCEL
    assert parse_utc(data["contract_signed_at"]) == times["signed_at"]
    assert_certificates(data)
    assert not [k for k in data if "escalation" in k]

    # the plan's order: the joint review before the land supply plan; bidding finished after the
    # government steps it does not feed, and before the survey and the drawing design it feeds
    done = case.completed()
    segments(
        done,
        [
            GUIDANCE,
            ["Task_ConfirmDesignScheme", "Task_SubmitDesignScheme"],
            REVIEW_TASKS,
            ["Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion", "Task_DetermineLandSupply", BIDDING],
            SURVEY_DESIGN,
            AFTER_NOTICE,
            set(CERTS),
        ],
    )
    assert max(done.index(a) for a in REVIEW_TASKS) < done.index("Task_DetermineLandSupply")
    # timers in the trace: the two periods fired at the end of the entered periods, not counted
    # from the tasks' completion; the four certificate deadlines cancelled
    assert times["notice_due"] == period_end(NOTICE_START, NOTICE_DAYS)
    assert times["listing_due"] == period_end(times["listing_start"], LISTING_DAYS)
    armed = case.transitions("timer_armed")
    assert armed[:2] == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"] and sorted(armed[2:]) == sorted(
        OVERDUE.values()
    )
    assert case.transitions("timer_fired") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
    assert sorted(case.transitions("timer_cancelled")) == sorted(OVERDUE.values())
    assert case.transitions("business_rule") == ["Task_CheckProjectScope"]
    assert case.transitions("script") == ["Task_RecordContractSigned"]
    scheduled = case.transitions("scheduled")
    assert not [a for a in scheduled if a.startswith("Task_Escalate")]
    assert "Task_CheckDirectApplication" not in scheduled and "Task_ReviseSchemeForObjection" not in scheduled
    assert times["signed_at"] > times["listing_due"] > times["notice_due"]


# ---------------------------------------------------------------- L2 excluded by the DMN table
@pytest.mark.parametrize(
    "exclusion, reason",
    [
        ({"hazardous_chemicals": "production"}, "危险化学品生产"),
        ({"chemical_with_hazardous_byproducts": True}, "伴有危险化学品"),
        ({"other_major": True}, "其他重大工程"),
    ],
)
def test_l2_excluded_by_scope_table_goes_to_ordinary_procedure(land, exclusion, reason):
    case = begin(land, **exclusion)
    data = case.finished("End_OrdinaryProcedure", "不适用，按一般程序办理")
    assert data["in_scope"] is False and reason in data["scope_reason"], data["scope_reason"]
    for k, v in exclusion.items():
        assert data[k] == v
    trace = case.trace()
    assert [(t, a) for (t, a, _, _) in trace] == [
        ("instance_started", None),
        ("activity", "StartEvent_ApplicationSubmitted"),
        ("business_rule", "Task_CheckProjectScope"),
        ("gateway", "Gateway_InScope"),
        ("end", "End_OrdinaryProcedure"),
        ("instance_completed", "End_OrdinaryProcedure"),
    ]
    assert trace[0][2:] == ("ent_a", "applicant")
    assert case.completed() == [] and case.instance()["tasks"] == []
    for user in ("invest", "park", "nrp", "bureau", "ent_a"):
        assert land.inbox(user, process_instance_id=case.id) == []
    # the decision and its reason are recorded in the trace for the auditor
    events = land.ok(land.get(f"/api/process-instances/{case.id}/trace", "auditor"))["events"]
    rule = [e for e in events if e["transition"] == "business_rule"][0]
    assert reason in json.dumps(rule["data"], ensure_ascii=False), rule


# ---------------------------------------------------------------- L3 project not confirmed
def test_l3_park_does_not_confirm_terminates_with_bidding_open(land):
    case = begin(land)
    guidance(case, park_confirmed=False)
    data = case.finished("End_ProjectNotConfirmed", "项目未确认，按一般程序办理")
    assert data["in_scope"] is True
    assert data["park_confirmed"] is False and data["park_opinion"] == "园区暂无可供用地"
    assert data["investment_confirmed"] is True
    segments(case.completed(), [GUIDANCE])
    # the terminate end closed the enterprise's bidding task, which was still open
    rows = {t["activity_id"]: t for t in case.instance()["tasks"]}
    assert rows[BIDDING]["state"] == "cancelled"
    assert case.transitions("cancel") == [BIDDING]
    assert land.inbox("ent_a", process_instance_id=case.id) == []
    assert case.transitions("timer_armed") == []
    assert "Task_ConfirmDesignScheme" not in case.transitions("scheduled")


# ---------------------------------------------------------------- L4 loops, objection, escalations
def test_l4_revisions_objection_drawing_rejections_and_certificate_escalations(land):
    siji = land
    case = begin(siji)
    bidding(case)  # done early this time: nothing waits for it
    guidance(case, also_open=())
    confirm_design_scheme(case, with_design_scheme=False, also_open=())
    submit_scheme(case, also_open=())
    # round 1: planning and water reject; an opinion is required with a rejection
    case.refused("Task_ReviewDesignPlanning", {"planning_review_passed": False}, "planning_review_opinion")
    joint_review(case, reject=("planning", "water"), also_open=())
    siji.advance(timedelta(days=2))
    revise_scheme(case, "调整容积率与排水方案", ["water", "planning"], also_open=())
    # round 2: the environment bureau rejects; the earlier rejections are gone from the data
    joint_review(case, reject=("environment",), also_open=())
    siji.advance(timedelta(days=1))
    revise_scheme(case, "补充环保措施", ["environment"], also_open=())
    # round 3: everybody passes
    joint_review(case, also_open=())

    # the notice: an objection is upheld → the scheme is revised and noticed again
    case.expect_open("Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion", *SURVEY_DESIGN)
    first_due = publish_notice(case, NOTICE_START)
    land_supply(case)
    survey_and_design(case)
    case.advance_past("Event_NoticePeriodEnds", first_due)
    record_notice(case, upheld=True)
    case.expect_open("Task_ReviseSchemeForObjection")
    case.do(
        "Task_ReviseSchemeForObjection",
        {"objection_revision_note": "调整3号楼位置，满足日照间距", "objection_revised_date": today(siji)},
    )
    case.expect_open("Task_PublishPreApprovalNotice")  # the listing waits for the new notice
    data = case.instance()["data"]
    assert "notice_objections_received" not in data and "notice_objection_upheld" not in data
    second_start = days_from_today(siji, 1)
    second_due = publish_notice(case, second_start, no="GS-2025-018-2")
    assert second_due == period_end(second_start, NOTICE_DAYS) > first_due
    case.advance_past("Event_NoticePeriodEnds", second_due)
    record_notice(case, upheld=False)  # an objection not upheld does not hold the case
    times = listing(case, drawing_rejections=2)
    times.update(sign_contract(case))

    # two certificates are issued on the signing day, two are not
    issue(case, "Task_IssueLandUsePlanningPermit")
    issue(case, "Task_IssueConstructionPermit")
    late = ["Task_IssueRealEstateCertificate", "Task_IssueConstructionPlanningPermit"]
    assert set(case.timers()) == {OVERDUE[a] for a in late}
    case.advance_past([OVERDUE[a] for a in late], times["deadline"])
    # non-interrupting: the certificate tasks stay open next to the office's escalations
    case.expect_open(*late, *(ESCALATE[a] for a in late))
    case.do(
        "Task_EscalateRealEstateCertificate",
        {
            "real_estate_cert_delay_reason": "登簿系统故障",
            "real_estate_cert_escalation_measures": "协调技术支持当日恢复",
            "real_estate_cert_escalation_deadline": today(siji),
        },
    )
    issue(case, "Task_IssueRealEstateCertificate")
    issue(case, "Task_IssueConstructionPlanningPermit")
    # all four issued, the case still waits for the office to close its second escalation
    case.expect_open("Task_EscalateConstructionPlanningPermit")
    assert case.instance()["status"] == "running"
    case.do(
        "Task_EscalateConstructionPlanningPermit",
        {
            "construction_planning_permit_delay_reason": "材料复核",
            "construction_planning_permit_escalation_measures": "督促次日核发",
            "construction_planning_permit_escalation_deadline": today(siji),
        },
    )
    data = case.finished("End_ReadyToBuild", "具备开工条件")

    # the data that reached the end: the last round's conclusions only, both escalations
    assert all(data[f"{p}_review_passed"] is True for _, p in REVIEWS)
    assert not [k for _, p in REVIEWS for k in data if k == f"{p}_review_opinion"]
    assert data["scheme_revision_note"] == "补充环保措施"
    assert data["objection_revision_note"] == "调整3号楼位置，满足日照间距"
    assert data["notice_no"] == "GS-2025-018-2" and data["notice_start_date"] == second_start
    assert data["notice_objections_received"] is True and data["notice_objection_upheld"] is False
    assert data["drawing_review_passed"] is True and data["drawing_revision_note"] == "第2次修改：已补充结构计算书"
    assert data["drawing_review_opinion"] == "第2次审查：结构计算书缺失"  # the last rejection's, kept
    assert_certificates(data)
    assert data["real_estate_cert_escalation_measures"] == "协调技术支持当日恢复"
    assert data["construction_planning_permit_escalation_measures"] == "督促次日核发"
    assert "land_use_permit_escalation_measures" not in data
    assert "construction_permit_escalation_measures" not in data

    # order of completed activities, every rework round visible
    review_round = ["Task_ReviewConstructionDrawings", "Task_ReviseConstructionDrawings"]
    segments(
        case.completed(),
        [
            [BIDDING],
            GUIDANCE,
            ["Task_ConfirmDesignScheme", "Task_SubmitDesignScheme"],
            REVIEW_TASKS,
            ["Task_ReviseDesignScheme"],
            REVIEW_TASKS,
            ["Task_ReviseDesignScheme"],
            REVIEW_TASKS,
            ["Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion", "Task_DetermineLandSupply"],
            SURVEY_DESIGN,
            [
                "Task_RecordNoticeResult",
                "Task_ReviseSchemeForObjection",
                "Task_PublishPreApprovalNotice",
                "Task_RecordNoticeResult",
                "Task_ListLand",
            ],
            review_round,
            review_round,
            [
                "Task_ReviewConstructionDrawings",
                "Task_ConfirmListingResult",
                "Task_SignLandContract",
                "Task_IssueLandUsePlanningPermit",
                "Task_IssueConstructionPermit",
                "Task_EscalateRealEstateCertificate",
                "Task_IssueRealEstateCertificate",
                "Task_IssueConstructionPlanningPermit",
                "Task_EscalateConstructionPlanningPermit",
            ],
        ],
    )
    done = case.completed()
    assert done.count("Task_ReviewDesignPlanning") == 3 and done.count("Task_ReviseDesignScheme") == 2
    assert done.count("Task_ReviewConstructionDrawings") == 3 and done.count("Task_ReviseConstructionDrawings") == 2
    scripts = case.transitions("script")
    assert scripts.count("Task_ClearJointReviewResults") == 2 and scripts.count("Task_ReopenNotice") == 1
    assert case.transitions("end").count("End_JointReviewDone") == 3
    # timers: the notice twice, the listing once; two certificate deadlines cancelled, two fired
    fired = case.transitions("timer_fired")
    assert fired[:3] == ["Event_NoticePeriodEnds", "Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
    assert sorted(fired[3:]) == sorted(OVERDUE[a] for a in late)
    assert sorted(case.transitions("timer_cancelled")) == sorted(
        [OVERDUE["Task_IssueLandUsePlanningPermit"], OVERDUE["Task_IssueConstructionPermit"]]
    )
    escalations = [(a, r) for (t, a, _, r) in case.trace() if t == "scheduled" and a.startswith("Task_Escalate")]
    assert sorted(escalations) == sorted((ESCALATE[a], "leading_group_office") for a in late)
    assert times["deadline"] == end_of_china_day(times["signed_at"]) > times["signed_at"]


# ---------------------------------------------------------------- L5 land with design scheme
def test_l5_land_with_design_scheme_skips_joint_review(land):
    siji = land
    case = begin(siji, project_type="expanded")
    guidance(case)
    bidding(case)
    confirm_design_scheme(case, with_design_scheme=True, also_open=())
    pre_listing(case, bidding_done=True)
    data = finish_ready_to_build(case)
    assert data["project_type"] == "expanded" and data["in_scope"] is True and "扩建" in data["scope_reason"]
    assert data["land_with_design_scheme"] is True
    assert not [k for _, p in REVIEWS for k in data if k.startswith(f"{p}_review_")]
    assert "design_scheme_title" not in data and "scheme_revision_note" not in data
    assert_certificates(data)
    segments(
        case.completed(),
        [
            GUIDANCE,
            [
                BIDDING,
                "Task_ConfirmDesignScheme",
                "Task_PublishPreApprovalNotice",
                "Task_IssueLandPreReviewOpinion",
                "Task_DetermineLandSupply",
            ],
            SURVEY_DESIGN,
            AFTER_NOTICE,
            set(CERTS),
        ],
    )
    scheduled = case.transitions("scheduled")
    assert "Task_SubmitDesignScheme" not in scheduled and not REVIEW_TASKS & set(scheduled)
    assert case.transitions("timer_fired") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]


# ---------------------------------------------------------------- L6 listing lost
def test_l6_listing_lost_land_not_acquired(land):
    case = begin(land)
    guidance(case)
    confirm_design_scheme(case, with_design_scheme=True)
    pre_listing(case)
    listing(case, won=False)
    data = case.finished("End_LandNotAcquired", "未竞得土地，流程终止")
    assert data["listing_won"] is False and data["listing_result_note"] == "其他竞买人竞得"
    assert data["drawing_review_passed"] is True
    assert "contract_no" not in data and "contract_signed_at" not in data
    segments(
        case.completed(),
        [
            GUIDANCE,
            [
                "Task_ConfirmDesignScheme",
                "Task_PublishPreApprovalNotice",
                "Task_IssueLandPreReviewOpinion",
                "Task_DetermineLandSupply",
                BIDDING,
            ],
            SURVEY_DESIGN,
            AFTER_NOTICE[:-1],
        ],
    )
    assert "Task_SignLandContract" not in case.transitions("scheduled")
    assert case.transitions("timer_armed") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
    assert case.transitions("timer_fired") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]


# ---------------------------------------------------------------- L7 the direct application
def test_l7_direct_application_to_the_joint_review(land):
    """“对已符合申报设计方案联合审查条件的项目，可直接申报设计方案联合审查”: no guidance tasks."""
    case = begin(land, direct_joint_review=True)
    case.expect_open("Task_CheckDirectApplication", BIDDING)
    case.refused("Task_CheckDirectApplication", {"direct_conditions_met": False}, "direct_check_opinion")
    case.do("Task_CheckDirectApplication", {"direct_conditions_met": True})
    confirm_design_scheme(case, with_design_scheme=False)
    submit_scheme(case)
    joint_review(case)
    pre_listing(case)
    data = finish_ready_to_build(case)
    assert data["direct_joint_review"] is True and data["direct_conditions_met"] is True
    assert "investment_confirmed" not in data and "park_confirmed" not in data
    scheduled = case.transitions("scheduled")
    assert not GUIDANCE & set(scheduled)
    segments(
        case.completed(),
        [
            ["Task_CheckDirectApplication", "Task_ConfirmDesignScheme", "Task_SubmitDesignScheme"],
            REVIEW_TASKS,
            ["Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion", "Task_DetermineLandSupply", BIDDING],
            SURVEY_DESIGN,
            AFTER_NOTICE,
            set(CERTS),
        ],
    )


def test_l7_direct_application_not_meeting_the_conditions_goes_to_guidance(land):
    case = begin(land, direct_joint_review=True)
    case.expect_open("Task_CheckDirectApplication", BIDDING)
    case.do(
        "Task_CheckDirectApplication",
        {"direct_conditions_met": False, "direct_check_opinion": "项目用地规模未确定，需园区确认入驻"},
    )
    guidance(case)
    confirm_design_scheme(case, with_design_scheme=False)
    submit_scheme(case)
    data = case.instance()["data"]
    assert data["direct_conditions_met"] is False and data["park_confirmed"] is True
    segments(
        case.completed(),
        [["Task_CheckDirectApplication"], GUIDANCE, ["Task_ConfirmDesignScheme", "Task_SubmitDesignScheme"]],
    )
