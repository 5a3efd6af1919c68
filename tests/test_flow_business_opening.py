"""开户即开业 (bpmn/business_opening.bpmn) driven through the HTTP API by its real participants,
along every path: the material-correction loop (一次告知, twice), the five parallel opening tasks
plus the permit branch, each permit path of the catalogue (告知承诺 / 备案 / 一般程序 approved or
refused / unsigned commitment → review / no permit), the post-issue verification deadline
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

from flows import (ROOT, add_users, advance_past, assert_chain_ok, assert_inboxes, completed_by, deploy_flow,
                   do, due, end_of_china_day, open_tasks, parse_utc, scheduled, segments, timers, today,
                   transitions)

KEY = "business_opening"
USCC = "91370800MA3C8K5Y2B"          # valid GB 32100-2015 check character
USCC_BAD_CHECK = "91370800MA3C8K5Y2C"

# participant → roles (ent_a, ent_b, bureau, fire and auditor come from conftest)
USERS = {
    "police": ["public_security"], "bank": ["bank"], "tax": ["tax_bureau"], "hr": ["hr_service_center"],
    "market": ["market_supervision"], "social": ["social_affairs"], "lgo": ["leading_group_office"],
    "publicity": ["publicity_dept"], "ecology": ["ecology_env"],
}
EVERYONE = ["ent_a", "ent_b", "bureau", "police", "bank", "tax", "hr", "market", "social", "lgo",
            "publicity", "fire", "ecology"]

OPENING_TASKS = {   # the five parallel opening tasks: activity → (user, role)
    "Task_RegisterBusinessLicence": ("bureau", "approval_bureau"),
    "Task_EngraveSeal": ("police", "public_security"),
    "Task_OpenBankAccount": ("bank", "bank"),
    "Task_RegisterTax": ("tax", "tax_bureau"),
    "Task_RegisterSocialInsurance": ("hr", "hr_service_center"),
}
OPENING = set(OPENING_TASKS)

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
        "enterprise_name": "济宁高新区示例商贸有限公司", "enterprise_type": "limited_company",
        "legal_representative": "法定代表人甲", "contact_phone": "13800000000", "registered_capital": 100,
        "business_address": "济宁高新区示例路1号", "business_scope": "日用百货、预包装食品销售",
        "shareholders": [{"shareholder_name": "股东甲", "shareholder_ratio": 60},
                         {"shareholder_name": "股东乙", "shareholder_ratio": 40}],
        "seal_types": ["official", "finance"], "preferred_bank": "示例银行济宁高新区支行", "employee_count": 5,
        "apply_permit": permit_code is not None,
    }
    if permit_code is not None:
        d["permit_code"] = permit_code
        d["commitment_signed"] = signed
    return d


CHECK_OK = {"materials_complete": True}


def check_bad(round_no: int) -> dict:
    return {"materials_complete": False,
            "correction_notice": f"第{round_no}次告知：请一次性补正股东身份证明、住所使用证明。",
            "missing_items": [{"missing_item_name": "股东身份证明", "missing_item_requirement": "复印件加盖签字"},
                              {"missing_item_name": "住所使用证明"}]}


def correction(round_no: int) -> dict:
    return {"corrected_items": [{"corrected_item_name": "股东身份证明"},
                                {"corrected_item_name": "住所使用证明", "corrected_item_note": f"租赁合同（第{round_no}次）"}],
            "correction_confirmed": True}


def opening_data(siji) -> dict[str, dict]:
    day = today(siji)
    return {
        "Task_RegisterBusinessLicence": {"uscc": USCC, "licence_registration_date": day},
        "Task_EngraveSeal": {"seal_engraved_types": ["official", "finance"], "seal_filing_no": "YZ-2025-0001",
                             "seal_done_date": day},
        "Task_OpenBankAccount": {"bank_name": "示例银行济宁高新区支行", "bank_account_no": "6222000011112222",
                                 "bank_opened_date": day},
        "Task_RegisterTax": {"tax_taxpayer_type": "small_scale", "tax_invoice_granted": True, "tax_done_date": day},
        "Task_RegisterSocialInsurance": {"si_registration_no": "SB-2025-0001", "si_insured_count": 5,
                                         "si_done_date": day},
    }


def commitment(siji) -> dict:
    return {"commitment_letter_checked": True, "permit_no": "JY-2025-0001", "permit_decision_date": today(siji)}


def filing(siji) -> dict:
    return {"filing_materials_checked": True, "permit_no": "BA-2025-0001", "permit_decision_date": today(siji)}


def review_ok(siji) -> dict:
    return {"on_site_inspection": True, "inspection_findings": "场所符合要求", "department_opinion": "同意",
            "permit_approved": True, "permit_no": "RL-2025-0001", "permit_decision_date": today(siji)}


def review_refused(siji) -> dict:
    return {"on_site_inspection": False, "permit_approved": False,
            "review_rejection_reason": "不具备职业中介服务条件", "permit_decision_date": today(siji)}


def issue(siji) -> dict:
    return {"issue_date": today(siji), "issue_method": "on_site", "issued_confirmed": True}


def verify(siji, true: bool) -> dict:
    d = {"verification_method": "on_site", "verification_date": today(siji), "commitment_true": true}
    if not true:
        d["verification_findings"] = "经营场所与承诺不符"
    return d


SUPERVISE = {"supervision_measure": "remind", "supervision_opinion": "请立即完成核查"}


def revoke(siji) -> dict:
    return {"revocation_decision_no": "济高审撤〔2025〕1号", "revocation_date": today(siji),
            "revocation_reason": "申请人作出虚假承诺", "credit_record_entered": True}


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
    """一窗受理: only the approval bureau gets the material check; it accepts the materials."""
    if check_inboxes:
        assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_CheckMaterials"}})
    do(siji, "bureau", iid, "Task_CheckMaterials", CHECK_OK, role="approval_bureau")


def open_in_parallel(siji, iid: int, permit_task: tuple | None, order=None, check_inboxes: bool = True) -> None:
    """The split hands out the five opening tasks and the permit task at once, each to its own
    department; they are completed in a scrambled order and the join waits for the last one."""
    expected = {"bureau": {"Task_RegisterBusinessLicence"}, "police": {"Task_EngraveSeal"},
                "bank": {"Task_OpenBankAccount"}, "tax": {"Task_RegisterTax"}, "hr": {"Task_RegisterSocialInsurance"}}
    if permit_task is not None:
        expected["bureau"] = expected["bureau"] | {permit_task[0]}
    if check_inboxes:
        assert_inboxes(siji, iid, EVERYONE, expected)
    data = opening_data(siji)
    steps = [(a, u, r, data[a]) for a, (u, r) in OPENING_TASKS.items()]
    if permit_task is not None:
        activity, d = permit_task
        steps.append((activity, "bureau", "approval_bureau", d))
    steps = [steps[i] for i in (order or range(len(steps)))]
    for n, (activity, user, role, d) in enumerate(steps):
        # the other departments must not see (nor act on) a department's task
        hidden = ["ent_a", "ent_b", "market"] + (["police"] if user != "police" else ["bank"])
        do(siji, user, iid, activity, d, role=role, hidden_from=hidden if n == 0 and check_inboxes else ())
        if n < len(steps) - 1:
            assert "Task_IssueTogether" not in open_tasks(siji, iid), "join passed before every branch ended"
    if check_inboxes:
        assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_IssueTogether"}})
    else:
        assert set(open_tasks(siji, iid)) == {"Task_IssueTogether"}


def assert_outcome(siji, iid: int, end_id: str) -> dict:
    inst = siji.instance(iid)
    assert inst["status"] == "completed"
    assert inst["outcome"] == {"id": end_id, "name": END_NAMES[end_id]}
    assert transitions(siji, iid, "end") == [end_id]
    assert transitions(siji, iid, "instance_completed") == [end_id]
    assert [a for a in open_tasks(siji, iid)] == []
    assert_chain_ok(siji, iid)
    # the enterprise sees its closed case and the outcome
    own = siji.ok(siji.get(f"/api/process-instances/{iid}", "ent_a"))
    assert own["outcome"]["id"] == end_id
    return inst


def opening_done_by() -> set:
    return {(activity, role, user) for activity, (user, role) in OPENING_TASKS.items()}


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
    assert (running["permit_path"], running["permit_department"], running["permit_name"]) == \
        ("commitment", "market_supervision", "便利店经营")
    assert running["verify_period_workdays"] == 20

    for rnd in (1, 2):     # 一次告知 → 补正, twice; the correction task belongs to ent_a only
        assert_inboxes(siji, iid, EVERYONE, {"bureau": {"Task_CheckMaterials"}})
        do(siji, "bureau", iid, "Task_CheckMaterials", check_bad(rnd), role="approval_bureau")
        assert_inboxes(siji, iid, EVERYONE, {"ent_a": {"Task_CorrectMaterials"}})
        do(siji, "ent_a", iid, "Task_CorrectMaterials", correction(rnd), role="applicant",
           hidden_from=["ent_b", "bureau"])
    # a bad check: the materials decision needs its notice; nothing moves
    task = siji.task_for("bureau", iid, "Task_CheckMaterials")
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"materials_complete": False}})
    assert resp.status_code == 422 and "correction_notice" in resp.get_json()["fields"]
    do(siji, "bureau", iid, "Task_CheckMaterials", CHECK_OK, role="approval_bureau")

    # the licence form checks the USCC check character on the server
    lic = siji.task_for("bureau", iid, "Task_RegisterBusinessLicence")
    resp = siji.post(f"/api/tasks/{lic['id']}/complete", "bureau",
                     json={"data": {"uscc": USCC_BAD_CHECK, "licence_registration_date": today(siji)}})
    assert resp.status_code == 422 and "uscc" in resp.get_json()["fields"]

    # permit first, then the opening tasks in reverse order
    open_in_parallel(siji, iid, ("Task_ApproveByCommitment", commitment(siji)), order=[5, 4, 3, 2, 1, 0])
    assert timers(siji, iid) == {}
    do(siji, "bureau", iid, "Task_IssueTogether", issue(siji), role="approval_bureau")

    # issued under commitment: market supervision verifies within 20 working days
    assert_inboxes(siji, iid, EVERYONE, {"market": {"Task_VerifyCommitmentMarket"}})
    deadline = timers(siji, iid)["Event_VerifyDeadlineMarket"]
    # 20 working days after Fri 2025-09-26: 9-28 (make-up Sunday), 9-29, 9-30, [10-1..10-8 off],
    # 10-9, 10-10, 10-11 (make-up Saturday), 10-13..17, 10-20..24, 10-27..30 → end of Thu 2025-10-30
    assert parse_utc(deadline["due_at"]) == end_of_china_day("2025-10-30")
    assert deadline["provisional"] is False
    assert parse_utc(open_tasks(siji, iid)["Task_VerifyCommitmentMarket"]["due_at"]) == end_of_china_day("2025-10-30")
    assert siji.advance((parse_utc(deadline["due_at"]) - siji.clock.now()) / 2) == 0   # half the period passes
    assert timers(siji, iid)["Event_VerifyDeadlineMarket"]["id"] == deadline["id"]
    do(siji, "market", iid, "Task_VerifyCommitmentMarket", verify(siji, True), role="market_supervision",
       hidden_from=["social", "bureau", "ent_a"])

    inst = assert_outcome(siji, iid, "End_CommitmentVerified")
    data = inst["data"]
    assert_opening_data(data)
    assert data["permit_no"] == "JY-2025-0001" and data["commitment_letter_checked"] is True
    assert data["commitment_true"] is True and data["verification_method"] == "on_site"
    assert data["verify_overdue_count"] == 0 and data["materials_complete"] is True
    assert data["correction_confirmed"] is True
    assert data["corrected_items"][1]["corrected_item_note"] == "租赁合同（第2次）"

    segments(siji.completed_activities(iid), [
        ["Task_CheckMaterials", "Task_CorrectMaterials"] * 2 + ["Task_CheckMaterials"],
        OPENING | {"Task_ApproveByCommitment"},
        ["Task_IssueTogether", "Task_VerifyCommitmentMarket"]])
    done = completed_by(siji, iid)
    check = ("Task_CheckMaterials", "approval_bureau", "bureau")
    correct = ("Task_CorrectMaterials", "applicant", "ent_a")
    assert done[:5] == [check, correct, check, correct, check]
    assert set(done[5:11]) == opening_done_by() | {("Task_ApproveByCommitment", "approval_bureau", "bureau")}
    assert done[11:] == [("Task_IssueTogether", "approval_bureau", "bureau"),
                         ("Task_VerifyCommitmentMarket", "market_supervision", "market")]
    # the applicant-lane task was reserved for the enterprise that owns the case
    assert [s for s in scheduled(siji, iid) if s[0] == "Task_CorrectMaterials"] == \
        [("Task_CorrectMaterials", "applicant", "ent_a")] * 2
    assert all(s[2] is None for s in scheduled(siji, iid) if s[0] != "Task_CorrectMaterials")
    assert transitions(siji, iid, "timer_armed") == ["Event_VerifyDeadlineMarket"]
    assert transitions(siji, iid, "timer_cancelled") == ["Event_VerifyDeadlineMarket"]
    assert transitions(siji, iid, "timer_fired") == []


# ---------------------------------------------------------------- path 2: verification overdue twice, false commitment
def test_commitment_verification_overdue_twice_then_permit_revoked(bo):
    siji = bo
    iid = start(siji, "small_beauty_salon", True)
    assert siji.instance(iid)["data"]["permit_department"] == "social_affairs"
    accept(siji, iid)
    open_in_parallel(siji, iid, ("Task_ApproveByCommitment", commitment(siji)), order=[2, 0, 5, 1, 4, 3])
    do(siji, "bureau", iid, "Task_IssueTogether", issue(siji), role="approval_bureau")

    # the verification goes to social affairs (the item's department), not market supervision
    assert_inboxes(siji, iid, EVERYONE, {"social": {"Task_VerifyCommitmentSocial"}})
    first_task = open_tasks(siji, iid)["Task_VerifyCommitmentSocial"]["id"]
    # catalogue: 20 working days → end of 2025-10-30 (see test above)
    assert advance_past(siji, iid, "Event_VerifyDeadlineSocial") == end_of_china_day("2025-10-30")
    # overdue: the verification task is withdrawn and the leading-group office supervises
    assert_inboxes(siji, iid, EVERYONE, {"lgo": {"Task_SuperviseVerification"}})
    lgo_timers = siji.ok(siji.get(f"/api/timers?process_instance_id={iid}&status=fired", "lgo"))["items"]
    assert [t["activity_id"] for t in lgo_timers] == ["Event_VerifyDeadlineSocial"]
    do(siji, "lgo", iid, "Task_SuperviseVerification", SUPERVISE, role="leading_group_office",
       hidden_from=["social", "bureau"])

    # back to social affairs with verify_extension_workdays = 10, counted from now
    # (clock: Fri 2025-10-31 00:59 China): 11-3..7, 11-10..14 → end of Fri 2025-11-14
    assert_inboxes(siji, iid, EVERYONE, {"social": {"Task_VerifyCommitmentSocial"}})
    second_task = open_tasks(siji, iid)["Task_VerifyCommitmentSocial"]["id"]
    assert second_task != first_task
    assert siji.instance(iid)["data"]["verify_overdue_count"] == 1
    assert parse_utc(open_tasks(siji, iid)["Task_VerifyCommitmentSocial"]["due_at"]) == end_of_china_day("2025-11-14")
    assert advance_past(siji, iid, "Event_VerifyDeadlineSocial") == end_of_china_day("2025-11-14")
    do(siji, "lgo", iid, "Task_SuperviseVerification",
       {"supervision_measure": "interview", "supervision_opinion": "约谈核查部门负责人"}, role="leading_group_office")

    # second extension from Sat 2025-11-15 00:59 China: 11-17..21, 11-24..28 → end of 2025-11-28
    assert due(siji, iid, "Event_VerifyDeadlineSocial") == end_of_china_day("2025-11-28")
    assert siji.instance(iid)["data"]["verify_overdue_count"] == 2
    do(siji, "social", iid, "Task_VerifyCommitmentSocial", verify(siji, False), role="social_affairs",
       hidden_from=["market", "lgo"])
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

    segments(siji.completed_activities(iid), [
        ["Task_CheckMaterials"], OPENING | {"Task_ApproveByCommitment"},
        ["Task_IssueTogether", "Task_SuperviseVerification", "Task_SuperviseVerification",
         "Task_VerifyCommitmentSocial", "Task_RevokePermit"]])
    assert completed_by(siji, iid)[-4:] == [
        ("Task_SuperviseVerification", "leading_group_office", "lgo"),
        ("Task_SuperviseVerification", "leading_group_office", "lgo"),
        ("Task_VerifyCommitmentSocial", "social_affairs", "social"),
        ("Task_RevokePermit", "approval_bureau", "bureau")]
    # every round is in the trace: armed three times, fired twice, the last one cancelled
    assert transitions(siji, iid, "timer_armed") == ["Event_VerifyDeadlineSocial"] * 3
    assert transitions(siji, iid, "timer_fired") == ["Event_VerifyDeadlineSocial"] * 2
    assert transitions(siji, iid, "timer_cancelled") == ["Event_VerifyDeadlineSocial"]
    assert transitions(siji, iid, "cancel") == ["Task_VerifyCommitmentSocial"] * 2
    trace = siji.trace(iid)
    fired_at = [i for i, (t, a, _, _) in enumerate(trace) if t == "timer_fired"]
    supervised = [i for i, (t, a, _, _) in enumerate(trace) if t == "scheduled" and a == "Task_SuperviseVerification"]
    assert len(supervised) == 2 and fired_at[0] < supervised[0] < fired_at[1] < supervised[1]


# ---------------------------------------------------------------- paths 3-7: the other permit paths
PATHS = {   # name: (permit_code, commitment_signed, permit path, permit task, its form data, end event)
    "filing": ("prepackaged_food_sales", False, "filing", "Task_RecordFiling", filing, "End_LicenceIssued"),
    "review_approved": ("intermediary_company", False, "review", "Task_ReviewPermit", review_ok,
                        "End_LicenceIssued"),
    "review_refused": ("intermediary_company", False, "review", "Task_ReviewPermit", review_refused,
                       "End_PermitRefused"),
    "commitment_unsigned": ("convenience_store", False, "review", "Task_ReviewPermit", review_ok,
                            "End_LicenceIssued"),
    "no_permit": (None, None, "none", None, None, "End_EnterpriseOpened"),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_permit_paths_without_verification(bo, path):
    siji = bo
    code, signed, permit_path, permit_task, data_of, end_id = PATHS[path]
    iid = start(siji, code, signed)
    running = siji.instance(iid)["data"]
    assert running["permit_path"] == permit_path
    accept(siji, iid)
    permit = (permit_task, data_of(siji)) if permit_task else None
    open_in_parallel(siji, iid, permit, order=None if permit is None else [5, 0, 1, 2, 3, 4])
    do(siji, "bureau", iid, "Task_IssueTogether", issue(siji), role="approval_bureau")

    inst = assert_outcome(siji, iid, end_id)
    data = inst["data"]
    assert_opening_data(data)
    assert data["permit_path"] == permit_path
    middle = OPENING | ({permit_task} if permit_task else set())
    segments(siji.completed_activities(iid), [["Task_CheckMaterials"], middle, ["Task_IssueTogether"]])
    expected_done = opening_done_by() | ({(permit_task, "approval_bureau", "bureau")} if permit_task else set())
    done = completed_by(siji, iid)
    assert done[0] == ("Task_CheckMaterials", "approval_bureau", "bureau")
    assert set(done[1:-1]) == expected_done and len(done) == len(expected_done) + 2
    assert done[-1] == ("Task_IssueTogether", "approval_bureau", "bureau")
    # no post-issue verification outside the commitment path
    assert transitions(siji, iid, "timer_armed") == []
    assert not any(a.startswith("Task_Verify") for (a, _, _) in scheduled(siji, iid))
    if path == "filing":
        assert data["permit_no"] == "BA-2025-0001" and data["filing_materials_checked"] is True
        assert data["permit_name"] == "预包装食品销售"
    elif path == "review_refused":
        assert data["permit_approved"] is False and data["review_rejection_reason"] == "不具备职业中介服务条件"
        assert "permit_no" not in data
    elif path in ("review_approved", "commitment_unsigned"):
        assert data["permit_approved"] is True and data["permit_no"] == "RL-2025-0001"
        assert data["inspection_findings"] == "场所符合要求"
        if path == "commitment_unsigned":   # a commitment item without the signed letter is reviewed
            assert data["commitment_signed"] is False and data["permit_department"] == "market_supervision"
            assert "Task_ApproveByCommitment" not in siji.completed_activities(iid)
    else:
        assert data["apply_permit"] is False and data["permit_name"] == "" and "permit_no" not in data


# ---------------------------------------------------------------- the other verification lanes
def test_verification_lanes_follow_the_catalogue_department(siji):
    """The shipped catalogue names only 4 items (the rest is for the operator); an operator's
    catalogue with items for the other regulators routes each verification to that regulator's
    lane; a department without a lane falls back to market supervision."""
    add_users(siji, USERS)
    catalogue = json.loads((ROOT / "bpmn" / "catalogue.json").read_text(encoding="utf-8"))
    catalogue = copy.deepcopy(catalogue)
    cases = {"publicity_dept": ("Task_VerifyCommitmentPublicity", "publicity", "Event_VerifyDeadlinePublicity"),
             "fire_rescue": ("Task_VerifyCommitmentFire", "fire", "Event_VerifyDeadlineFire"),
             "ecology_env": ("Task_VerifyCommitmentEcology", "ecology", "Event_VerifyDeadlineEcology"),
             "economic_dev": ("Task_VerifyCommitmentMarket", "market", "Event_VerifyDeadlineMarket")}
    for dept in cases:
        catalogue["items"].append({"code": f"op_{dept}", "name": f"运营方补充事项（{dept}）", "path": "commitment",
                                   "department": dept, "verify_workdays": 5, "from_plan": False})
    deploy_flow(siji, KEY, catalogue=catalogue)
    for dept, (task, user, timer) in cases.items():
        iid = start(siji, f"op_{dept}", True)
        accept(siji, iid, check_inboxes=False)
        open_in_parallel(siji, iid, ("Task_ApproveByCommitment", commitment(siji)), check_inboxes=False)
        do(siji, "bureau", iid, "Task_IssueTogether", issue(siji), role="approval_bureau")
        assert_inboxes(siji, iid, EVERYONE, {user: {task}})
        # the item's own 5 working days from Fri 2025-09-26: 9-28, 9-29, 9-30, 10-9, 10-10
        assert parse_utc(timers(siji, iid)[timer]["due_at"]) == end_of_china_day("2025-10-10")
        role = dept if dept != "economic_dev" else "market_supervision"
        do(siji, user, iid, task, verify(siji, True), role=role)
        inst = assert_outcome(siji, iid, "End_CommitmentVerified")
        assert inst["data"]["permit_department"] == dept
        segments(siji.completed_activities(iid), [["Task_CheckMaterials"], OPENING | {"Task_ApproveByCommitment"},
                                                  ["Task_IssueTogether", task]])
        assert transitions(siji, iid, "timer_armed") == [timer]
        assert transitions(siji, iid, "timer_cancelled") == [timer]


# ---------------------------------------------------------------- start form checks
def test_application_is_validated_and_owned(bo):
    siji = bo
    # a permit item outside the catalogue, or a permit without its item, is refused
    resp = siji.post("/api/process-instances", "ent_a",
                     json={"process_key": KEY, "variables": application("made_up_item", True)})
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
