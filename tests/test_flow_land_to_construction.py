"""拿地即开工 (land_to_construction) scenario tests, through the HTTP API as the real participants.

Paths (each on SQLite and PostgreSQL):
  L1 happy path: scope check passes, guidance, design-scheme joint review passes first time,
     public notice (timer), listing with drawing review (timer), contract, four certificates the
     same day → End_ReadyToBuild.
  L2 excluded by the DMN table (three exclusion rules) → End_OrdinaryProcedure, no task at all.
  L3 the park does not confirm the project → End_ProjectNotConfirmed.
  L4 joint review rejected twice (revision loop ×2), drawings rejected twice during the listing
     period, two certificates not issued by the end of the signing day → escalations to the
     leading-group office (non-interrupting timers) → End_ReadyToBuild.
  L5 land transferred with its design scheme: no joint review → End_ReadyToBuild.
  L6 listing lost → End_LandNotAcquired.
"""
from __future__ import annotations

import json
from datetime import timedelta

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
    "Task_DetermineLandSupply": "natural_resources",
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
    "enterprise_name": "济宁高新示范制造有限公司", "enterprise_uscc": ENT, "contact_name": "王经理",
    "contact_phone": "13800000000", "project_name": "高端装备制造基地项目",
    "project_code": "2025-370871-34-03-012345", "project_type": "new", "key_industrial": True,
    "conforms_to_plan": True, "in_industrial_park": True, "park_name": "新材料工业园",
    "hazardous_chemicals": "none", "chemical_with_hazardous_byproducts": False, "other_major": False,
    "planned_investment": 50000, "requested_land_area": 66666.67,
}

GUIDANCE = {"Task_GuideProjectInvestment", "Task_ConfirmProjectPark", "Task_PrepareBiddingIntermediary"}
# (activity, key prefix) of the six departments of the design-scheme joint review
REVIEWS = [("Task_ReviewDesignEconomic", "economic"), ("Task_ReviewDesignEnvironment", "environment"),
           ("Task_ReviewDesignWater", "water"), ("Task_ReviewDesignUrban", "urban"),
           ("Task_ReviewDesignPlanning", "planning"), ("Task_ReviewDesignConstruction", "construction")]
REVIEW_TASKS = {a for a, _ in REVIEWS}
PRE_LISTING = {"Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion", "Task_GeologicalSurvey",
               "Task_ConstructionDrawingDesign"}
CERTS = {"Task_IssueLandUsePlanningPermit": ("land_use_permit", "地字第370871202500012号"),
         "Task_IssueRealEstateCertificate": ("real_estate_cert", "鲁(2025)济宁市不动产权第0012345号"),
         "Task_IssueConstructionPlanningPermit": ("construction_planning_permit", "建字第370871202500012号"),
         "Task_IssueConstructionPermit": ("construction_permit", "370871202510130101")}
OVERDUE = {"Task_IssueLandUsePlanningPermit": "Event_LandUsePlanningPermitOverdue",
           "Task_IssueRealEstateCertificate": "Event_RealEstateCertificateOverdue",
           "Task_IssueConstructionPlanningPermit": "Event_ConstructionPlanningPermitOverdue",
           "Task_IssueConstructionPermit": "Event_ConstructionPermitOverdue"}
ESCALATE = {"Task_IssueLandUsePlanningPermit": "Task_EscalateLandUsePlanningPermit",
            "Task_IssueRealEstateCertificate": "Task_EscalateRealEstateCertificate",
            "Task_IssueConstructionPlanningPermit": "Task_EscalateConstructionPlanningPermit",
            "Task_IssueConstructionPermit": "Task_EscalateConstructionPermit"}


@pytest.fixture
def land(siji):
    setup(siji)
    return siji


def begin(siji, **start) -> Case:
    return Case(siji, KEY, ROLES, dict(START, **start))


# ---------------------------------------------------------------- steps shared by the paths
def guidance(case: Case, park_confirmed: bool = True) -> None:
    """The three parallel guidance tasks, done in reverse drawing order."""
    case.expect_open(*GUIDANCE)
    case.do("Task_PrepareBiddingIntermediary", {"intermediary_services": [
        {"service_type": "survey", "provider_name": "济宁勘察院", "provider_uscc": SURVEYOR}]})
    if park_confirmed:
        case.do("Task_ConfirmProjectPark", {"park_confirmed": True, "park_confirmed_name": "新材料工业园"})
    else:
        case.refused("Task_ConfirmProjectPark", {"park_confirmed": False}, "park_opinion")
        case.do("Task_ConfirmProjectPark", {"park_confirmed": False, "park_opinion": "园区暂无可供用地"})
    case.expect_open("Task_GuideProjectInvestment")      # the join waits for the third branch
    case.do("Task_GuideProjectInvestment", {"investment_confirmed": True, "investment_guidance": "按重点产业项目推进"})


def land_supply(case: Case, with_design_scheme: bool) -> None:
    case.expect_open("Task_DetermineLandSupply")
    case.do("Task_DetermineLandSupply", {"parcel_code": PARCEL, "parcel_area": 66666.67,
                                         "land_with_design_scheme": with_design_scheme})


def submit_scheme(case: Case) -> None:
    case.expect_open("Task_SubmitDesignScheme")
    case.do("Task_SubmitDesignScheme", {
        "design_scheme_title": "高端装备制造基地总平面方案", "design_unit_name": "济宁市建筑设计研究院",
        "design_unit_uscc": DESIGNER, "total_floor_area": 80000, "plot_ratio": 1.2,
        "scheme_submitted_date": today(case.siji)})


def joint_review(case: Case, reject=()) -> None:
    """One round of the six parallel department reviews (reverse order); `reject` the key prefixes
    of the departments that do not pass the scheme."""
    case.expect_open(*REVIEW_TASKS)
    for activity, p in reversed(REVIEWS):
        if p in reject:
            case.do(activity, {f"{p}_review_passed": False, f"{p}_review_opinion": f"{p}：容积率不符合规划条件，请调整"})
        else:
            case.do(activity, {f"{p}_review_passed": True})


def revise_scheme(case: Case, note: str, failed: list[str]) -> None:
    """In its case view the applicant sees exactly this round's failing departments with their
    opinions (the revision form itself shows only its own fields)."""
    case.expect_open("Task_ReviseDesignScheme")
    data = case.instance("ent_a")["data"]
    assert [p for _, p in REVIEWS if data[f"{p}_review_passed"] is False] == failed, data
    assert sorted(k for k in data if k.endswith("_review_opinion")) == sorted(f"{p}_review_opinion" for p in failed)
    case.do("Task_ReviseDesignScheme", {"scheme_revision_note": note, "scheme_revised_date": today(case.siji)})


def pre_listing(case: Case, notice_first: bool = True) -> dict:
    """Public notice (timer: notice period), land pre-review, survey and drawing design in parallel.
    With `notice_first` the notice period ends after the applicant's work is done; otherwise the
    notice result is recorded first and the join waits for the survey and the drawings."""
    siji = case.siji
    case.expect_open(*PRE_LISTING)
    armed_at = siji.clock.now()
    case.do("Task_PublishPreApprovalNotice", {"notice_no": "GS-2025-018", "notice_place": "http://www.jnhnew.gov.cn/",
                                              "notice_start_date": today(siji)})
    assert "Task_RecordNoticeResult" not in case.open_tasks()
    case.do("Task_IssueLandPreReviewOpinion", {"land_prereview_no": "济高新自然资预〔2025〕18号",
                                               "land_prereview_date": today(siji), "land_prereview_opinion": "同意"})

    def applicant_work():
        case.do("Task_GeologicalSurvey", {"survey_unit_name": "济宁勘察院", "survey_unit_uscc": SURVEYOR,
                                          "survey_report_no": "KC-2025-033", "survey_completed_date": today(siji)})
        case.do("Task_ConstructionDrawingDesign", {
            "drawing_design_unit_name": "济宁市建筑设计研究院", "drawing_design_unit_uscc": DESIGNER,
            "drawing_set_no": "SG-2025-101", "drawing_completed_date": today(siji)})

    if notice_first:
        applicant_work()
        case.expect_open()                               # only the notice period is running
    due = case.advance_past("Event_NoticePeriodEnds", armed_at + timedelta(days=NOTICE_DAYS))
    if notice_first:
        case.expect_open("Task_RecordNoticeResult")
        case.do("Task_RecordNoticeResult", {"notice_objections_received": False})
    else:
        case.expect_open("Task_RecordNoticeResult", "Task_GeologicalSurvey", "Task_ConstructionDrawingDesign")
        case.do("Task_RecordNoticeResult", {"notice_objections_received": False})
        case.expect_open("Task_GeologicalSurvey", "Task_ConstructionDrawingDesign")
        applicant_work()
    return {"notice_armed": armed_at, "notice_due": due}


def listing(case: Case, drawing_rejections: int = 0, won: bool = True) -> dict:
    """Land listing (timer: listing period) with the construction drawing review inside it."""
    siji = case.siji
    case.expect_open("Task_ListLand")
    armed_at = siji.clock.now()
    case.do("Task_ListLand", {"listing_notice_no": "济高新土挂〔2025〕5号", "listing_parcel_code": PARCEL,
                              "listing_start_price": 3000, "listing_start_date": today(siji)})
    case.expect_open("Task_ReviewConstructionDrawings")
    assert set(case.timers()) == {"Event_ListingPeriodEnds"}
    for i in range(drawing_rejections):
        siji.advance(timedelta(days=1))                  # the reviews take days inside the period
        case.do("Task_ReviewConstructionDrawings", {"drawing_review_passed": False,
                                                    "drawing_review_opinion": f"第{i + 1}次审查：结构计算书缺失"})
        case.expect_open("Task_ReviseConstructionDrawings")
        case.do("Task_ReviseConstructionDrawings", {"drawing_revision_note": f"第{i + 1}次修改：已补充结构计算书"})
    case.expect_open("Task_ReviewConstructionDrawings")
    case.do("Task_ReviewConstructionDrawings", {"drawing_review_passed": True, "drawing_review_cert_no": "SC-2025-077"})
    case.expect_open()                                   # the listing period is still running
    due = case.advance_past("Event_ListingPeriodEnds", armed_at + timedelta(days=LISTING_DAYS))
    case.expect_open("Task_ConfirmListingResult")
    if won:
        case.do("Task_ConfirmListingResult", {"listing_won": True, "transaction_price": 3100})
    else:
        case.refused("Task_ConfirmListingResult", {"listing_won": False}, "listing_result_note")
        case.do("Task_ConfirmListingResult", {"listing_won": False, "listing_result_note": "其他竞买人竞得"})
    return {"listing_armed": armed_at, "listing_due": due}


def sign_contract(case: Case) -> dict:
    siji = case.siji
    case.expect_open("Task_SignLandContract")
    signed_at = siji.clock.now()
    case.do("Task_SignLandContract", {"contract_no": "3708712025B00012", "contract_date": today(siji),
                                      "transfer_price": 3100, "contract_land_area": 66666.67})
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


# ---------------------------------------------------------------- L1 happy path
def test_l1_happy_path_ready_to_build(land):
    siji = land
    case = begin(siji)
    guidance(case)
    land_supply(case, with_design_scheme=False)
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
    assert all(data[f"{p}_review_passed"] is True for _, p in REVIEWS)
    assert not [k for k in data if k.endswith("_review_opinion")]
    assert data["notice_objections_received"] is False and data["notice_period_days"] == NOTICE_DAYS
    assert data["drawing_review_passed"] is True and data["drawing_review_cert_no"] == "SC-2025-077"
    assert data["listing_won"] is True and data["transaction_price"] == 3100
    assert data["contract_no"] == "3708712025B00012"
    assert parse_utc(data["contract_signed_at"]) == times["signed_at"]
    assert_certificates(data)
    assert not [k for k in data if "escalation" in k]

    # the order of completed activities
    segments(case.completed(), [
        GUIDANCE, ["Task_DetermineLandSupply", "Task_SubmitDesignScheme"], REVIEW_TASKS,
        PRE_LISTING, ["Task_RecordNoticeResult", "Task_ListLand", "Task_ReviewConstructionDrawings",
                      "Task_ConfirmListingResult", "Task_SignLandContract"], set(CERTS)])
    # timers in the trace: the two periods fired, the four certificate deadlines cancelled
    assert case.transitions("timer_armed") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"] + list(OVERDUE.values())
    assert case.transitions("timer_fired") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
    assert sorted(case.transitions("timer_cancelled")) == sorted(OVERDUE.values())
    assert case.transitions("business_rule") == ["Task_CheckProjectScope"]
    assert case.transitions("script") == ["Task_RecordContractSigned"]
    assert not [a for a in case.transitions("scheduled") if a.startswith("Task_Escalate")]
    # the contract was signed after the listing period ended
    assert times["signed_at"] > times["listing_due"] > times["notice_due"]


# ---------------------------------------------------------------- L2 excluded by the DMN table
@pytest.mark.parametrize("exclusion, reason", [
    ({"hazardous_chemicals": "production"}, "危险化学品生产"),
    ({"chemical_with_hazardous_byproducts": True}, "伴有危险化学品"),
    ({"other_major": True}, "其他重大工程"),
])
def test_l2_excluded_by_scope_table_goes_to_ordinary_procedure(land, exclusion, reason):
    case = begin(land, **exclusion)
    data = case.finished("End_OrdinaryProcedure", "不适用，按一般程序办理")
    assert data["in_scope"] is False and reason in data["scope_reason"], data["scope_reason"]
    for k, v in exclusion.items():
        assert data[k] == v
    trace = case.trace()
    assert [(t, a) for (t, a, _, _) in trace] == [
        ("instance_started", None), ("activity", "StartEvent_ApplicationSubmitted"),
        ("business_rule", "Task_CheckProjectScope"), ("gateway", "Gateway_InScope"),
        ("end", "End_OrdinaryProcedure"), ("instance_completed", "End_OrdinaryProcedure")]
    assert trace[0][2:] == ("ent_a", "applicant")
    assert case.completed() == [] and case.instance()["tasks"] == []
    for user in ("invest", "park", "nrp", "bureau", "ent_a"):
        assert land.inbox(user, process_instance_id=case.id) == []
    # the decision and its reason are recorded in the trace for the auditor
    events = land.ok(land.get(f"/api/process-instances/{case.id}/trace", "auditor"))["events"]
    rule = [e for e in events if e["transition"] == "business_rule"][0]
    assert reason in json.dumps(rule["data"], ensure_ascii=False), rule


# ---------------------------------------------------------------- L3 project not confirmed
def test_l3_park_does_not_confirm(land):
    case = begin(land)
    guidance(case, park_confirmed=False)
    data = case.finished("End_ProjectNotConfirmed", "项目未确认，按一般程序办理")
    assert data["in_scope"] is True
    assert data["park_confirmed"] is False and data["park_opinion"] == "园区暂无可供用地"
    assert data["investment_confirmed"] is True
    segments(case.completed(), [GUIDANCE])
    assert case.transitions("timer_armed") == []
    assert "Task_DetermineLandSupply" not in case.transitions("scheduled")


# ---------------------------------------------------------------- L4 loops and escalations
def test_l4_revisions_drawing_rejections_and_certificate_escalations(land):
    siji = land
    case = begin(siji)
    guidance(case)
    land_supply(case, with_design_scheme=False)
    submit_scheme(case)
    # round 1: planning and water reject; an opinion is required with a rejection
    case.refused("Task_ReviewDesignPlanning", {"planning_review_passed": False}, "planning_review_opinion")
    joint_review(case, reject=("planning", "water"))
    siji.advance(timedelta(days=2))
    revise_scheme(case, "调整容积率与排水方案", ["water", "planning"])
    # round 2: the environment bureau rejects; the earlier rejections are gone from the data
    joint_review(case, reject=("environment",))
    siji.advance(timedelta(days=1))
    revise_scheme(case, "补充环保措施", ["environment"])
    # round 3: everybody passes
    joint_review(case)
    times = pre_listing(case)
    times.update(listing(case, drawing_rejections=2))
    times.update(sign_contract(case))

    # two certificates are issued on the signing day, two are not
    issue(case, "Task_IssueLandUsePlanningPermit")
    issue(case, "Task_IssueConstructionPermit")
    late = ["Task_IssueRealEstateCertificate", "Task_IssueConstructionPlanningPermit"]
    assert set(case.timers()) == {OVERDUE[a] for a in late}
    case.advance_past([OVERDUE[a] for a in late], times["deadline"])
    # non-interrupting: the certificate tasks stay open next to the office's escalations
    case.expect_open(*late, *(ESCALATE[a] for a in late))
    case.do("Task_EscalateRealEstateCertificate", {
        "real_estate_cert_delay_reason": "登簿系统故障", "real_estate_cert_escalation_measures": "协调技术支持当日恢复",
        "real_estate_cert_escalation_deadline": today(siji)})
    issue(case, "Task_IssueRealEstateCertificate")
    issue(case, "Task_IssueConstructionPlanningPermit")
    # all four issued, the case still waits for the office to close its second escalation
    case.expect_open("Task_EscalateConstructionPlanningPermit")
    assert case.instance()["status"] == "running"
    case.do("Task_EscalateConstructionPlanningPermit", {
        "construction_planning_permit_delay_reason": "材料复核",
        "construction_planning_permit_escalation_measures": "督促次日核发",
        "construction_planning_permit_escalation_deadline": today(siji)})
    data = case.finished("End_ReadyToBuild", "具备开工条件")

    # the data that reached the end: the last round's conclusions only, both escalations
    assert all(data[f"{p}_review_passed"] is True for _, p in REVIEWS)
    assert not [k for _, p in REVIEWS for k in data if k == f"{p}_review_opinion"]
    assert data["scheme_revision_note"] == "补充环保措施"
    assert data["drawing_review_passed"] is True and data["drawing_revision_note"] == "第2次修改：已补充结构计算书"
    assert data["drawing_review_opinion"] == "第2次审查：结构计算书缺失"    # the last rejection's, kept
    assert_certificates(data)
    assert data["real_estate_cert_escalation_measures"] == "协调技术支持当日恢复"
    assert data["construction_planning_permit_escalation_measures"] == "督促次日核发"
    assert "land_use_permit_escalation_measures" not in data
    assert "construction_permit_escalation_measures" not in data
    assert parse_utc(data["contract_signed_at"]) == times["signed_at"]

    # order of completed activities, every rework round visible
    review_round = ["Task_ReviewConstructionDrawings", "Task_ReviseConstructionDrawings"]
    segments(case.completed(), [
        GUIDANCE, ["Task_DetermineLandSupply", "Task_SubmitDesignScheme"],
        REVIEW_TASKS, ["Task_ReviseDesignScheme"], REVIEW_TASKS, ["Task_ReviseDesignScheme"], REVIEW_TASKS,
        PRE_LISTING, ["Task_RecordNoticeResult", "Task_ListLand"], review_round, review_round,
        ["Task_ReviewConstructionDrawings", "Task_ConfirmListingResult", "Task_SignLandContract",
         "Task_IssueLandUsePlanningPermit", "Task_IssueConstructionPermit",
         "Task_EscalateRealEstateCertificate", "Task_IssueRealEstateCertificate",
         "Task_IssueConstructionPlanningPermit", "Task_EscalateConstructionPlanningPermit"]])
    done = case.completed()
    assert done.count("Task_ReviewDesignPlanning") == 3 and done.count("Task_ReviseDesignScheme") == 2
    assert done.count("Task_ReviewConstructionDrawings") == 3 and done.count("Task_ReviseConstructionDrawings") == 2
    assert case.transitions("script").count("Task_ClearJointReviewResults") == 2
    assert case.transitions("end").count("End_JointReviewDone") == 3
    # timers: both periods fired; two certificate deadlines cancelled by the issue, two fired
    fired = case.transitions("timer_fired")
    assert fired[:2] == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
    assert sorted(fired[2:]) == sorted(OVERDUE[a] for a in late)
    assert sorted(case.transitions("timer_cancelled")) == sorted(
        [OVERDUE["Task_IssueLandUsePlanningPermit"], OVERDUE["Task_IssueConstructionPermit"]])
    escalations = [(a, r) for (t, a, _, r) in case.trace() if t == "scheduled" and a.startswith("Task_Escalate")]
    assert sorted(escalations) == sorted((ESCALATE[a], "leading_group_office") for a in late)
    # the escalations were created when the deadline passed, i.e. after the signing day
    assert times["deadline"] == end_of_china_day(times["signed_at"]) > times["signed_at"]


# ---------------------------------------------------------------- L5 land with design scheme
def test_l5_land_with_design_scheme_skips_joint_review(land):
    siji = land
    case = begin(siji, project_type="expanded")
    guidance(case)
    land_supply(case, with_design_scheme=True)
    pre_listing(case, notice_first=False)
    listing(case)
    sign_contract(case)
    for activity in CERTS:
        issue(case, activity)
    data = case.finished("End_ReadyToBuild", "具备开工条件")
    assert data["project_type"] == "expanded" and data["in_scope"] is True and "扩建" in data["scope_reason"]
    assert data["land_with_design_scheme"] is True
    assert not [k for _, p in REVIEWS for k in data if k.startswith(f"{p}_review_")]
    assert "design_scheme_title" not in data and "scheme_revision_note" not in data
    assert_certificates(data)
    segments(case.completed(), [
        GUIDANCE, ["Task_DetermineLandSupply"],
        {"Task_PublishPreApprovalNotice", "Task_IssueLandPreReviewOpinion"},
        ["Task_RecordNoticeResult", "Task_GeologicalSurvey", "Task_ConstructionDrawingDesign",
         "Task_ListLand", "Task_ReviewConstructionDrawings", "Task_ConfirmListingResult", "Task_SignLandContract"],
        set(CERTS)])
    scheduled = case.transitions("scheduled")
    assert "Task_SubmitDesignScheme" not in scheduled and not REVIEW_TASKS & set(scheduled)
    assert case.transitions("timer_fired") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]


# ---------------------------------------------------------------- L6 listing lost
def test_l6_listing_lost_land_not_acquired(land):
    case = begin(land)
    guidance(case)
    land_supply(case, with_design_scheme=True)
    pre_listing(case)
    listing(case, won=False)
    data = case.finished("End_LandNotAcquired", "未竞得土地，流程终止")
    assert data["listing_won"] is False and data["listing_result_note"] == "其他竞买人竞得"
    assert data["drawing_review_passed"] is True
    assert "contract_no" not in data and "contract_signed_at" not in data
    segments(case.completed(), [
        GUIDANCE, ["Task_DetermineLandSupply"], PRE_LISTING,
        ["Task_RecordNoticeResult", "Task_ListLand", "Task_ReviewConstructionDrawings", "Task_ConfirmListingResult"]])
    assert "Task_SignLandContract" not in case.transitions("scheduled")
    assert case.transitions("timer_armed") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
    assert case.transitions("timer_fired") == ["Event_NoticePeriodEnds", "Event_ListingPeriodEnds"]
