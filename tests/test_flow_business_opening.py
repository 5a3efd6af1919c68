"""开户即开业 (bpmn/business_opening.bpmn) driven through the HTTP API by its real participants,
along every path: the material-correction loop (一次告知, twice); the licence first, then its USCC
shared (数据共享) with seal, bank, tax and social insurance, which run in parallel with the licence
data read-only in their forms, together with the permit branch; licence and permit issued together
(证照同发) as soon as the permit is decided, without waiting for bank, tax and social insurance; the
same-day timer escalating an issuance not done that day; each permit path of the catalogue (告知承诺
accepted or refused / 备案 accepted or refused / 一般程序 by the item's competent department, approved
or refused / unsigned commitment → review / no permit); the post-issue verification deadline
(overdue twice, supervised by the leading-group office) and revocation after a false commitment.

Clock: conftest's T0 is Friday 2025-09-26 10:00 China time. The working-day calendar is China's
real one: 2025-09-28 (Sunday) is a make-up working day, 2025-10-01..08 are the National Day
holidays, 2025-10-11 (Saturday) is a make-up working day. Expected deadlines below are counted by
hand on that calendar.
"""

from __future__ import annotations

import copy
import json

import pytest
from flows import (
    ROOT,
    add_users,
    advance_past,
    assert_chain_ok,
    assert_inboxes,
    assert_readonly_filled,
    completed_by,
    deploy_flow,
    do,
    due,
    end_of_china_day,
    open_tasks,
    parse_utc,
    scheduled,
    segments,
    timers,
    today,
    transitions,
)

KEY = "business_opening"
USCC = "91370800MA3C8K5Y2B"  # valid GB 32100-2015 check character
USCC_BAD_CHECK = "91370800MA3C8K5Y2C"

# participant → roles (ent_a, ent_b, bureau, fire and auditor come from conftest)
USERS = {
    "police": ["public_security"],
    "bank": ["bank"],
    "tax": ["tax_bureau"],
    "hr": ["hr_service_center"],
    "market": ["market_supervision"],
    "social": ["social_affairs"],
    "lgo": ["leading_group_office"],
    "publicity": ["publicity_dept"],
    "ecology": ["ecology_env"],
    "econ": ["economic_dev"],
}
EVERYONE = [
    "ent_a",
    "ent_b",
    "bureau",
    "police",
    "bank",
    "tax",
    "hr",
    "market",
    "social",
    "lgo",
    "publicity",
    "fire",
    "ecology",
    "econ",
]
DEPT_USER = {
    "market_supervision": "market",
    "social_affairs": "social",
    "hr_service_center": "hr",
    "publicity_dept": "publicity",
    "fire_rescue": "fire",
    "ecology_env": "ecology",
    "economic_dev": "econ",
}

SHARED_TASKS = {  # the four steps fed by the licence's data: activity → (user, role)
    "Task_EngraveSeal": ("police", "public_security"),
    "Task_OpenBankAccount": ("bank", "bank"),
    "Task_RegisterTax": ("tax", "tax_bureau"),
    "Task_RegisterSocialInsurance": ("hr", "hr_service_center"),
}
SHARED = set(SHARED_TASKS)
LICENCE = ("Task_RegisterBusinessLicence", "approval_bureau", "bureau")

END_NAMES = {
    "End_CommitmentVerified": "证照同发，承诺经核查属实",
    "End_PermitRevoked": "许可已撤销（虚假承诺）",
    "End_LicenceIssued": "证照同发：营业执照与许可证已发放",
    "End_PermitRefused": "营业执照已发放，许可不予批准",
    "End_EnterpriseOpened": "企业开办完成（无许可事项）",
}


# ---------------------------------------------------------------- form data
def application(permit_code=None, signed=None) -> dict:
    d = {
        "enterprise_name": "济宁高新区示例商贸有限公司",
        "enterprise_type": "limited_company",
        "legal_representative": "法定代表人甲",
        "contact_phone": "13800000000",
        "registered_capital": 100,
        "business_address": "济宁高新区示例路1号",
        "business_scope": "日用百货、预包装食品销售",
        "shareholders": [
            {"shareholder_name": "股东甲", "shareholder_ratio": 60},
            {"shareholder_name": "股东乙", "shareholder_ratio": 40},
        ],
        "seal_types": ["official", "finance"],
        "preferred_bank": "示例银行济宁高新区支行",
        "employee_count": 5,
        "apply_permit": permit_code is not None,
    }
    if permit_code is not None:
        d["permit_code"] = permit_code
        d["commitment_signed"] = signed
    return d


CHECK_OK = {"materials_complete": True}


def check_bad(round_no: int) -> dict:
    return {
        "materials_complete": False,
        "correction_notice": f"第{round_no}次告知：请一次性补正股东身份证明、住所使用证明。",
        "missing_items": [
            {"missing_item_name": "股东身份证明", "missing_item_requirement": "复印件加盖签字"},
            {"missing_item_name": "住所使用证明"},
        ],
    }


def correction(round_no: int) -> dict:
    return {
        "corrected_items": [
            {"corrected_item_name": "股东身份证明"},
            {"corrected_item_name": "住所使用证明", "corrected_item_note": f"租赁合同（第{round_no}次）"},
        ],
        "correction_confirmed": True,
    }


def opening_data(siji) -> dict[str, dict]:
    day = today(siji)
    return {
        "Task_RegisterBusinessLicence": {"uscc": USCC, "licence_registration_date": day},
        "Task_EngraveSeal": {
            "seal_engraved_types": ["official", "finance"],
            "seal_filing_no": "YZ-2025-0001",
            "seal_done_date": day,
        },
        "Task_OpenBankAccount": {
            "bank_name": "示例银行济宁高新区支行",
            "bank_account_no": "6222000011112222",
            "bank_opened_date": day,
        },
        "Task_RegisterTax": {"tax_taxpayer_type": "small_scale", "tax_invoice_granted": True, "tax_done_date": day},
        "Task_RegisterSocialInsurance": {
            "si_registration_no": "SB-2025-0001",
            "si_insured_count": 5,
            "si_done_date": day,
        },
    }


def commitment(siji) -> dict:
    return {
        "commitment_letter_checked": True,
        "commitment_accepted": True,
        "permit_no": "JY-2025-0001",
        "permit_decision_date": today(siji),
    }


def commitment_refused(siji) -> dict:
    return {
        "commitment_letter_checked": True,
        "commitment_accepted": False,
        "commitment_refusal_reason": "承诺书未载明经营场所面积",
        "permit_decision_date": today(siji),
    }


def filing(siji) -> dict:
    return {
        "filing_materials_checked": True,
        "filing_accepted": True,
        "permit_no": "BA-2025-0001",
        "permit_decision_date": today(siji),
    }


def filing_refused(siji) -> dict:
    return {
        "filing_materials_checked": False,
        "filing_accepted": False,
        "filing_refusal_reason": "不属于仅销售预包装食品",
        "permit_decision_date": today(siji),
    }


def review_ok(siji) -> dict:
    return {
        "on_site_inspection": True,
        "inspection_findings": "场所符合要求",
        "department_opinion": "同意",
        "permit_approved": True,
        "permit_no": "RL-2025-0001",
        "permit_decision_date": today(siji),
    }


def review_refused(siji) -> dict:
    return {
        "on_site_inspection": False,
        "permit_approved": False,
        "review_rejection_reason": "不具备职业中介服务条件",
        "permit_decision_date": today(siji),
    }


def issue(siji) -> dict:
    return {"issue_date": today(siji), "issue_method": "on_site", "issued_confirmed": True}


def verify(siji, true: bool) -> dict:
    d = {"verification_method": "on_site", "verification_date": today(siji), "commitment_true": true}
    if not true:
        d["verification_findings"] = "经营场所与承诺不符"
    return d


SUPERVISE = {"supervision_measure": "remind", "supervision_opinion": "请立即完成核查"}


def revoke(siji) -> dict:
    return {
        "revocation_decision_no": "济高审撤〔2025〕1号",
        "revocation_date": today(siji),
        "revocation_reason": "申请人作出虚假承诺",
        "credit_record_entered": True,
    }


# ---------------------------------------------------------------- building blocks
@pytest.fixture
def bo(siji):
    add_users(siji, USERS)
    deploy_flow(siji, KEY, with_catalogue=True)
    return siji


def start(siji, permit_code=None, signed=None, user="ent_a") -> int:
    inst = siji.start(KEY, user, application(permit_code, signed))
    assert inst["status"] == "running" and inst["enterprise"] == user and inst["starter"] == user
    # only the enterprise that owns the case (and departments holding its tasks) can see it
    assert siji.get(f"/api/process-instances/{inst['id']}", "ent_b" if user == "ent_a" else "ent_a").status_code == 404
    return inst["id"]


def accept(siji, iid: int, check_inboxes: bool = True) -> None:
    """一窗受理, then the licence: only the approval bureau has work until the licence (and its
    统一社会信用代码) exists; nothing else starts before it."""
    if check_inboxes:
        assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_CheckMaterials"}})
    do(siji, "bureau", iid, "Task_CheckMaterials", CHECK_OK, role="approval_bureau")
    if check_inboxes:
        assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_RegisterBusinessLicence"}})
    do(
        siji,
        "bureau",
        iid,
        "Task_RegisterBusinessLicence",
        opening_data(siji)["Task_RegisterBusinessLicence"],
        role="approval_bureau",
    )


def permit_step(path: str, department: str, activity: str, data: dict) -> tuple:
    """(activity, user, role, data): commitment and filing at the bureau's window, a review by the
    item's competent department in its own inbox."""
    if path == "review":
        return activity, DEPT_USER[department], department, data
    return activity, "bureau", "approval_bureau", data


def share_and_issue(
    siji, iid: int, permit: tuple | None, order=None, check_inboxes: bool = True, issue_now: bool = True
) -> None:
    """The licence's data is shared: seal, bank, tax and social insurance start together with the
    permit task, each department seeing the licence read-only in its form. As soon as the permit is
    decided the licence and permit are issued together, the four others still open; the join
    waits for them before the outcome."""
    expected = {u: {a} for a, (u, _) in SHARED_TASKS.items()}
    if permit is not None:
        expected[permit[1]] = expected.get(permit[1], set()) | {permit[0]}
    else:  # no permit item: issuance is ready at once
        expected["bureau"] = {"Task_IssueTogether"}
    if check_inboxes:
        assert_inboxes(siji, iid, EVERYONE, expected)
    for activity, (user, _) in SHARED_TASKS.items():
        shown = assert_readonly_filled(siji, user, siji.task_for(user, iid, activity)["id"])
        assert shown["data"]["uscc"] == USCC and shown["data"]["enterprise_name"] == "济宁高新区示例商贸有限公司"
        assert shown["data"]["legal_representative"] == "法定代表人甲"
    if permit is not None:
        activity, user, role, d = permit
        do(siji, user, iid, activity, d, role=role, hidden_from=["ent_a", "police"] if check_inboxes else ())
    # 证照同发 without waiting for bank, tax and social insurance
    assert set(open_tasks(siji, iid)) == SHARED | {"Task_IssueTogether"}
    if issue_now:
        do(siji, "bureau", iid, "Task_IssueTogether", issue(siji), role="approval_bureau")
    data = opening_data(siji)
    steps = [(a, u, r, data[a]) for a, (u, r) in SHARED_TASKS.items()]
    steps = [steps[i] for i in (order or range(len(steps)))]
    for n, (activity, user, role, d) in enumerate(steps):
        hidden = ["ent_a", "ent_b", "market"] + (["police"] if user != "police" else ["bank"])
        do(siji, user, iid, activity, d, role=role, hidden_from=hidden if n == 0 and check_inboxes else ())
        if n < len(steps) - 1:
            assert siji.instance(iid)["outcome"] is None, "join passed before every branch ended"


def assert_outcome(siji, iid: int, end_id: str) -> dict:
    inst = siji.instance(iid)
    assert inst["status"] == "completed"
    assert inst["outcome"] == {"id": end_id, "name": END_NAMES[end_id]}
    assert transitions(siji, iid, "instance_completed") == [end_id]
    assert [a for a in open_tasks(siji, iid)] == []
    assert_chain_ok(siji, iid)
    # the enterprise sees its closed case and the outcome
    own = siji.ok(siji.get(f"/api/process-instances/{iid}", "ent_a"))
    assert own["outcome"]["id"] == end_id
    return inst


def shared_done_by() -> set:
    return {(activity, role, user) for activity, (user, role) in SHARED_TASKS.items()}


def assert_opening_data(data: dict) -> None:
    assert data["enterprise_name"] == "济宁高新区示例商贸有限公司"
    assert data["uscc"] == USCC
    assert data["seal_filing_no"] == "YZ-2025-0001" and data["seal_engraved_types"] == ["official", "finance"]
    assert data["bank_account_no"] == "6222000011112222"
    assert data["tax_taxpayer_type"] == "small_scale" and data["tax_invoice_granted"] is True
    assert data["si_registration_no"] == "SB-2025-0001" and data["si_insured_count"] == 5
    assert data["issued_confirmed"] is True and data["issue_method"] == "on_site"
    assert data["initiator"] == "ent_a" and data["enterprise_user"] == "ent_a"


# ---------------------------------------------------------------- path 1: 告知承诺, 补正 twice, verified
def test_commitment_item_with_two_corrections_verified_in_time(bo):
    siji = bo
    iid = start(siji, "convenience_store", True)
    running = siji.instance(iid)["data"]
    assert (running["permit_path"], running["permit_department"], running["permit_name"]) == (
        "commitment",
        "market_supervision",
        "便利店经营",
    )
    assert running["verify_period_workdays"] == 20

    for rnd in (1, 2):  # 一次告知 → 补正, twice; the correction task belongs to ent_a only
        assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_CheckMaterials"}})
        do(siji, "bureau", iid, "Task_CheckMaterials", check_bad(rnd), role="approval_bureau")
        assert_inboxes(siji, iid, EVERYONE, {"ent_a": {"Task_CorrectMaterials"}})
        do(
            siji,
            "ent_a",
            iid,
            "Task_CorrectMaterials",
            correction(rnd),
            role="applicant",
            hidden_from=["ent_b", "bureau"],
        )
    # a bad check: the materials decision needs its notice; nothing moves
    task = siji.task_for("bureau", iid, "Task_CheckMaterials")
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"materials_complete": False}})
    assert resp.status_code == 422 and "correction_notice" in resp.get_json()["fields"]
    do(siji, "bureau", iid, "Task_CheckMaterials", CHECK_OK, role="approval_bureau")

    # the licence comes first, alone; its form checks the USCC check character on the server
    assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_RegisterBusinessLicence"}})
    lic = siji.task_for("bureau", iid, "Task_RegisterBusinessLicence")
    resp = siji.post(
        f"/api/tasks/{lic['id']}/complete",
        "bureau",
        json={"data": {"uscc": USCC_BAD_CHECK, "licence_registration_date": today(siji)}},
    )
    assert resp.status_code == 422 and "uscc" in resp.get_json()["fields"]
    do(
        siji,
        "bureau",
        iid,
        "Task_RegisterBusinessLicence",
        opening_data(siji)["Task_RegisterBusinessLicence"],
        role="approval_bureau",
    )

    share_and_issue(
        siji,
        iid,
        permit_step("commitment", "market_supervision", "Task_ApproveByCommitment", commitment(siji)),
        order=[3, 2, 1, 0],
    )

    # issued under commitment: market supervision (the item's department) verifies within 20 working days
    assert_inboxes(siji, iid, EVERYONE, {"market": {"Task_VerifyCommitment"}})
    deadline = timers(siji, iid)["Event_VerifyDeadline"]
    # 20 working days after Fri 2025-09-26: 9-28 (make-up Sunday), 9-29, 9-30, [10-1..10-8 off],
    # 10-9, 10-10, 10-11 (make-up Saturday), 10-13..17, 10-20..24, 10-27..30 → end of Thu 2025-10-30
    assert parse_utc(deadline["due_at"]) == end_of_china_day("2025-10-30")
    assert deadline["provisional"] is False
    assert parse_utc(open_tasks(siji, iid)["Task_VerifyCommitment"]["due_at"]) == end_of_china_day("2025-10-30")
    assert siji.advance((parse_utc(deadline["due_at"]) - siji.clock.now()) / 2) == 0  # half the period passes
    assert timers(siji, iid)["Event_VerifyDeadline"]["id"] == deadline["id"]
    do(
        siji,
        "market",
        iid,
        "Task_VerifyCommitment",
        verify(siji, True),
        role="market_supervision",
        hidden_from=["social", "bureau", "ent_a"],
    )

    inst = assert_outcome(siji, iid, "End_CommitmentVerified")
    data = inst["data"]
    assert_opening_data(data)
    assert data["permit_no"] == "JY-2025-0001" and data["commitment_letter_checked"] is True
    assert data["commitment_true"] is True and data["verification_method"] == "on_site"
    assert data["verify_overdue_count"] == 0 and data["materials_complete"] is True
    assert data["correction_confirmed"] is True and data["permit_granted"] is True
    assert data["corrected_items"][1]["corrected_item_note"] == "租赁合同（第2次）"

    segments(
        siji.completed_activities(iid),
        [
            ["Task_CheckMaterials", "Task_CorrectMaterials"] * 2 + ["Task_CheckMaterials"],
            ["Task_RegisterBusinessLicence", "Task_ApproveByCommitment", "Task_IssueTogether"],
            SHARED,
            ["Task_VerifyCommitment"],
        ],
    )
    done = completed_by(siji, iid)
    check = ("Task_CheckMaterials", "approval_bureau", "bureau")
    correct = ("Task_CorrectMaterials", "applicant", "ent_a")
    assert done[:6] == [check, correct, check, correct, check, LICENCE]
    assert set(done[8:12]) == shared_done_by()
    assert done[-1] == ("Task_VerifyCommitment", "market_supervision", "market")
    # the applicant-lane task was reserved for the enterprise that owns the case
    assert [s for s in scheduled(siji, iid) if s[0] == "Task_CorrectMaterials"] == [
        ("Task_CorrectMaterials", "applicant", "ent_a")
    ] * 2
    assert all(s[2] is None for s in scheduled(siji, iid) if s[0] != "Task_CorrectMaterials")
    # the same-day issuance timer was armed and cancelled when the bureau issued on time
    assert transitions(siji, iid, "timer_armed") == ["Event_IssueDayEnds", "Event_VerifyDeadline"]
    assert transitions(siji, iid, "timer_cancelled") == ["Event_IssueDayEnds", "Event_VerifyDeadline"]
    assert transitions(siji, iid, "timer_fired") == []


# ---------------------------------------------------------------- path 2: verification overdue twice, false commitment
def test_commitment_verification_overdue_twice_then_permit_revoked(bo):
    siji = bo
    iid = start(siji, "small_beauty_salon", True)
    assert siji.instance(iid)["data"]["permit_department"] == "social_affairs"
    accept(siji, iid)
    share_and_issue(
        siji,
        iid,
        permit_step("commitment", "social_affairs", "Task_ApproveByCommitment", commitment(siji)),
        order=[2, 0, 3, 1],
    )

    # the verification goes to social affairs (the item's department), not market supervision
    assert_inboxes(siji, iid, EVERYONE, {"social": {"Task_VerifyCommitment"}})
    first_task = open_tasks(siji, iid)["Task_VerifyCommitment"]["id"]
    # catalogue: 20 working days → end of 2025-10-30 (see test above)
    assert advance_past(siji, iid, "Event_VerifyDeadline") == end_of_china_day("2025-10-30")
    # overdue: the verification task is withdrawn and the leading-group office supervises
    assert_inboxes(siji, iid, EVERYONE, {"lgo": {"Task_SuperviseVerification"}})
    lgo_timers = siji.ok(siji.get(f"/api/timers?process_instance_id={iid}&status=fired", "lgo"))["items"]
    assert [t["activity_id"] for t in lgo_timers] == ["Event_VerifyDeadline"]
    do(
        siji,
        "lgo",
        iid,
        "Task_SuperviseVerification",
        SUPERVISE,
        role="leading_group_office",
        hidden_from=["social", "bureau"],
    )

    # back to social affairs with verify_extension_workdays = 10, counted from now
    # (clock: Fri 2025-10-31 00:59 China): 11-3..7, 11-10..14 → end of Fri 2025-11-14
    assert_inboxes(siji, iid, EVERYONE, {"social": {"Task_VerifyCommitment"}})
    second_task = open_tasks(siji, iid)["Task_VerifyCommitment"]["id"]
    assert second_task != first_task
    assert siji.instance(iid)["data"]["verify_overdue_count"] == 1
    assert parse_utc(open_tasks(siji, iid)["Task_VerifyCommitment"]["due_at"]) == end_of_china_day("2025-11-14")
    assert advance_past(siji, iid, "Event_VerifyDeadline") == end_of_china_day("2025-11-14")
    do(
        siji,
        "lgo",
        iid,
        "Task_SuperviseVerification",
        {"supervision_measure": "interview", "supervision_opinion": "约谈核查部门负责人"},
        role="leading_group_office",
    )

    # second extension from Sat 2025-11-15 00:59 China: 11-17..21, 11-24..28 → end of 2025-11-28
    assert due(siji, iid, "Event_VerifyDeadline") == end_of_china_day("2025-11-28")
    assert siji.instance(iid)["data"]["verify_overdue_count"] == 2
    do(
        siji,
        "social",
        iid,
        "Task_VerifyCommitment",
        verify(siji, False),
        role="social_affairs",
        hidden_from=["market", "lgo"],
    )
    # a false commitment: the approval bureau revokes the permit
    assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_RevokePermit"}})
    do(siji, "bureau", iid, "Task_RevokePermit", revoke(siji), role="approval_bureau")

    inst = assert_outcome(siji, iid, "End_PermitRevoked")
    data = inst["data"]
    assert_opening_data(data)
    assert data["permit_no"] == "JY-2025-0001"
    assert data["commitment_true"] is False and data["verification_findings"] == "经营场所与承诺不符"
    assert data["verify_overdue_count"] == 2 and data["verify_period_workdays"] == 10
    assert data["supervision_measure"] == "interview"
    assert data["revocation_decision_no"] == "济高审撤〔2025〕1号" and data["credit_record_entered"] is True

    segments(
        siji.completed_activities(iid),
        [
            ["Task_CheckMaterials", "Task_RegisterBusinessLicence", "Task_ApproveByCommitment", "Task_IssueTogether"],
            SHARED,
            ["Task_SuperviseVerification", "Task_SuperviseVerification", "Task_VerifyCommitment", "Task_RevokePermit"],
        ],
    )
    assert completed_by(siji, iid)[-4:] == [
        ("Task_SuperviseVerification", "leading_group_office", "lgo"),
        ("Task_SuperviseVerification", "leading_group_office", "lgo"),
        ("Task_VerifyCommitment", "social_affairs", "social"),
        ("Task_RevokePermit", "approval_bureau", "bureau"),
    ]
    # every round is in the trace: armed three times, fired twice, the last one cancelled
    verify_timer = [a for a in transitions(siji, iid, "timer_armed") if a == "Event_VerifyDeadline"]
    assert verify_timer == ["Event_VerifyDeadline"] * 3
    assert transitions(siji, iid, "timer_fired") == ["Event_VerifyDeadline"] * 2
    assert transitions(siji, iid, "timer_cancelled") == ["Event_IssueDayEnds", "Event_VerifyDeadline"]
    assert transitions(siji, iid, "cancel") == ["Task_VerifyCommitment"] * 2
    trace = siji.trace(iid)
    fired_at = [i for i, (t, a, _, _) in enumerate(trace) if t == "timer_fired"]
    supervised = [i for i, (t, a, _, _) in enumerate(trace) if t == "scheduled" and a == "Task_SuperviseVerification"]
    assert len(supervised) == 2 and fired_at[0] < supervised[0] < fired_at[1] < supervised[1]


# ---------------------------------------------------------------- the same-day issuance timer
def test_issuance_not_done_the_same_day_is_escalated_and_stays_with_the_bureau(bo):
    siji = bo
    iid = start(siji, "prepackaged_food_sales", False)
    accept(siji, iid)
    share_and_issue(
        siji, iid, permit_step("filing", "market_supervision", "Task_RecordFiling", filing(siji)), issue_now=False
    )
    issuing = open_tasks(siji, iid)["Task_IssueTogether"]
    # 当场领证: the issuance is due by the end of the day it became ready (Fri 2025-09-26, China time)
    assert due(siji, iid, "Event_IssueDayEnds") == end_of_china_day("2025-09-26")
    assert advance_past(siji, iid, "Event_IssueDayEnds") == end_of_china_day("2025-09-26")
    # non-interrupting: the bureau keeps the same issuance task; the leading-group office supervises
    assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_IssueTogether"}, "lgo": {"Task_SuperviseIssuance"}})
    assert open_tasks(siji, iid)["Task_IssueTogether"]["id"] == issuing["id"]
    do(
        siji,
        "lgo",
        iid,
        "Task_SuperviseIssuance",
        {"issuance_supervision_measure": "call", "issuance_supervision_opinion": "请今日上午发证"},
        role="leading_group_office",
        hidden_from=["bureau"],
    )
    do(siji, "bureau", iid, "Task_IssueTogether", issue(siji), role="approval_bureau")
    inst = assert_outcome(siji, iid, "End_LicenceIssued")
    assert inst["data"]["issuance_supervision_opinion"] == "请今日上午发证"
    assert transitions(siji, iid, "timer_fired") == ["Event_IssueDayEnds"]
    assert set(transitions(siji, iid, "end")) == {"End_IssuanceSupervised", "End_Issued", "End_LicenceIssued"}


# ---------------------------------------------------------------- paths 3-9: the other permit paths
PATHS = {  # name: (permit_code, commitment_signed, permit path, department, permit task, its form data, end event)
    "filing": (
        "prepackaged_food_sales",
        False,
        "filing",
        "market_supervision",
        "Task_RecordFiling",
        filing,
        "End_LicenceIssued",
    ),
    "filing_refused": (
        "prepackaged_food_sales",
        False,
        "filing",
        "market_supervision",
        "Task_RecordFiling",
        filing_refused,
        "End_PermitRefused",
    ),
    "commitment_refused": (
        "convenience_store",
        True,
        "commitment",
        "market_supervision",
        "Task_ApproveByCommitment",
        commitment_refused,
        "End_PermitRefused",
    ),
    "review_approved": (
        "intermediary_company",
        False,
        "review",
        "hr_service_center",
        "Task_ReviewPermit",
        review_ok,
        "End_LicenceIssued",
    ),
    "review_refused": (
        "intermediary_company",
        False,
        "review",
        "hr_service_center",
        "Task_ReviewPermit",
        review_refused,
        "End_PermitRefused",
    ),
    "commitment_unsigned": (
        "convenience_store",
        False,
        "review",
        "market_supervision",
        "Task_ReviewPermit",
        review_ok,
        "End_LicenceIssued",
    ),
    "no_permit": (None, None, "none", None, None, None, "End_EnterpriseOpened"),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_permit_paths_without_verification(bo, path):
    siji = bo
    code, signed, permit_path, department, permit_task, data_of, end_id = PATHS[path]
    iid = start(siji, code, signed)
    running = siji.instance(iid)["data"]
    assert running["permit_path"] == permit_path
    accept(siji, iid)
    permit = permit_step(permit_path, department, permit_task, data_of(siji)) if permit_task else None
    share_and_issue(siji, iid, permit, order=[1, 3, 0, 2])

    inst = assert_outcome(siji, iid, end_id)
    data = inst["data"]
    assert_opening_data(data)
    assert data["permit_path"] == permit_path
    first = ["Task_CheckMaterials", "Task_RegisterBusinessLicence"] + ([permit_task] if permit_task else [])
    segments(siji.completed_activities(iid), [first + ["Task_IssueTogether"], SHARED])
    done = completed_by(siji, iid)
    assert done[:2] == [("Task_CheckMaterials", "approval_bureau", "bureau"), LICENCE]
    if permit:
        assert done[2] == (permit_task, permit[2], permit[1])
    assert set(done[-4:]) == shared_done_by()
    # no post-issue verification outside the commitment path
    assert transitions(siji, iid, "timer_armed") == ["Event_IssueDayEnds"]
    assert not any(a.startswith("Task_Verify") for (a, _, _) in scheduled(siji, iid))
    if path == "filing":
        assert data["permit_no"] == "BA-2025-0001" and data["filing_materials_checked"] is True
        assert data["permit_name"] == "预包装食品销售" and data["permit_granted"] is True
    elif path == "filing_refused":
        assert data["filing_refusal_reason"] == "不属于仅销售预包装食品" and data["permit_granted"] is False
        assert data["permit_no"] == ""
    elif path == "commitment_refused":
        assert data["commitment_refusal_reason"] == "承诺书未载明经营场所面积" and data["permit_granted"] is False
    elif path == "review_refused":
        assert data["permit_approved"] is False and data["review_rejection_reason"] == "不具备职业中介服务条件"
        assert data["permit_no"] == ""
    elif path in ("review_approved", "commitment_unsigned"):
        assert data["permit_approved"] is True and data["permit_no"] == "RL-2025-0001"
        assert data["inspection_findings"] == "场所符合要求"
        if path == "commitment_unsigned":  # a commitment item without the signed letter is reviewed
            assert data["commitment_signed"] is False and data["permit_department"] == "market_supervision"
            assert "Task_ApproveByCommitment" not in siji.completed_activities(iid)
    else:
        assert data["apply_permit"] is False and data["permit_name"] == "" and data["permit_no"] == ""


def test_a_refusal_needs_its_reason(bo):
    siji = bo
    iid = start(siji, "convenience_store", True)
    accept(siji, iid)
    task = siji.task_for("bureau", iid, "Task_ApproveByCommitment")
    d = commitment_refused(siji)
    del d["commitment_refusal_reason"]
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": d})
    assert resp.status_code == 422 and "commitment_refusal_reason" in resp.get_json()["fields"]


# ---------------------------------------------------------------- the competent department's own tasks
def test_review_and_verification_go_to_the_catalogue_department(siji):
    """The shipped catalogue names only 4 items (the rest is for the operator); an operator's
    catalogue with items for other departments sends the review and the post-issue verification
    to that department's own inbox, whatever department it is."""
    add_users(siji, USERS)
    catalogue = copy.deepcopy(json.loads((ROOT / "bpmn" / "catalogue.json").read_text(encoding="utf-8")))
    depts = ["publicity_dept", "fire_rescue", "ecology_env", "economic_dev"]
    for dept in depts:
        for path in ("commitment", "review"):
            catalogue["items"].append(
                {
                    "code": f"op_{dept}_{path}",
                    "name": f"运营方补充事项（{dept}）",
                    "path": path,
                    "department": dept,
                    "verify_workdays": 5,
                    "from_plan": False,
                }
            )
    deploy_flow(siji, KEY, catalogue=catalogue)
    for dept in depts:
        user = DEPT_USER[dept]
        others = [u for d, u in DEPT_USER.items() if d != dept]
        iid = start(siji, f"op_{dept}_review", False)
        accept(siji, iid, check_inboxes=False)
        assert siji.task_for(user, iid, "Task_ReviewPermit")["role"] == dept
        do(siji, user, iid, "Task_ReviewPermit", review_ok(siji), role=dept, hidden_from=others[:2] + ["bureau"])

        iid = start(siji, f"op_{dept}_commitment", True)
        accept(siji, iid, check_inboxes=False)
        share_and_issue(
            siji,
            iid,
            permit_step("commitment", dept, "Task_ApproveByCommitment", commitment(siji)),
            check_inboxes=False,
        )
        assert_inboxes(siji, iid, EVERYONE, {user: {"Task_VerifyCommitment"}})
        # the item's own 5 working days from Fri 2025-09-26: 9-28, 9-29, 9-30, 10-9, 10-10
        assert parse_utc(timers(siji, iid)["Event_VerifyDeadline"]["due_at"]) == end_of_china_day("2025-10-10")
        do(siji, user, iid, "Task_VerifyCommitment", verify(siji, True), role=dept, hidden_from=others[:2])
        inst = assert_outcome(siji, iid, "End_CommitmentVerified")
        assert inst["data"]["permit_department"] == dept


# ---------------------------------------------------------------- start form checks
def test_application_is_validated_and_owned(bo):
    siji = bo
    # a permit item outside the catalogue, or a permit without its item, is refused
    resp = siji.post(
        "/api/process-instances", "ent_a", json={"process_key": KEY, "variables": application("made_up_item", True)}
    )
    assert resp.status_code == 422 and "permit_code" in resp.get_json()["fields"]
    bad = application("convenience_store", True)
    del bad["permit_code"]
    resp = siji.post("/api/process-instances", "ent_a", json={"process_key": KEY, "variables": bad})
    assert resp.status_code == 422 and "permit_code" in resp.get_json()["fields"]
    # only applicants open an enterprise
    resp = siji.post("/api/process-instances", "bureau", json={"process_key": KEY, "variables": application()})
    assert resp.status_code == 403
    # ent_b's own case is its own: ent_a neither sees it nor its correction task
    iid = start(siji, None, user="ent_b")
    do(siji, "bureau", iid, "Task_CheckMaterials", check_bad(1), role="approval_bureau")
    do(siji, "ent_b", iid, "Task_CorrectMaterials", correction(1), role="applicant", hidden_from=["ent_a"])
    assert scheduled(siji, iid)[1] == ("Task_CorrectMaterials", "applicant", "ent_b")
