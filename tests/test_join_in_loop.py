"""A joint review that repeats: the parallel join must wait for every branch of the current
round and keep each branch's fresh answers (SpiffWorkflow 3.2 gets both wrong; engine/spiff_fixes.py)."""

from __future__ import annotations

from conftest import DATA

JOINT = DATA / "joint"


def _open(siji, iid):
    return sorted(a["id"] for a in siji.instance(iid)["active_activities"])


def test_join_waits_for_every_branch_in_a_later_round(siji):
    siji.deploy_paths(JOINT)
    iid = siji.start("joint", "ent_a", {"project_name": "厂房"})["id"]
    # round 1: fire first, then housing
    siji.complete("fire", iid, "Task_FireReview", {"fire_passed": False, "fire_opinion": "疏散通道不足"})
    siji.complete("housing", iid, "Task_HousingReview", {"housing_passed": True})
    siji.complete("bureau", iid, "Task_Decide", {"approved": False})
    siji.complete("ent_a", iid, "Task_Revise", {"revision_note": "加宽通道"})
    # round 2 in the other order: after housing alone the join must still wait for fire
    siji.complete("housing", iid, "Task_HousingReview", {"housing_passed": True})
    assert _open(siji, iid) == ["Task_FireReview"]
    siji.complete("fire", iid, "Task_FireReview", {"fire_passed": True})
    assert _open(siji, iid) == ["Task_Decide"]
    # the decision task sees this round's answers, not round 1's
    task = siji.task_for("bureau", iid, "Task_Decide")
    detail = siji.ok(siji.get(f"/api/tasks/{task['id']}", "bureau"))
    siji.complete("bureau", iid, "Task_Decide", {"approved": True})
    done = siji.instance(iid)
    assert done["outcome"]["id"] == "End_Approved"
    assert done["data"]["fire_passed"] is True and done["data"]["housing_passed"] is True
    assert done["data"]["fire_opinion"] == "疏散通道不足"  # untouched in round 2, kept
    assert siji.completed_activities(iid).count("Task_FireReview") == 2
    assert detail["state"] == "open"


def test_fresh_answer_of_an_early_branch_survives_a_late_stale_branch(siji):
    siji.deploy_paths(JOINT)
    iid = siji.start("joint", "ent_a", {"project_name": "仓库"})["id"]
    siji.complete("fire", iid, "Task_FireReview", {"fire_passed": False})
    siji.complete("housing", iid, "Task_HousingReview", {"housing_passed": False})
    siji.complete("bureau", iid, "Task_Decide", {"approved": False})
    siji.complete("ent_a", iid, "Task_Revise", {"revision_note": "整改"})
    # round 2: fire passes first; housing arrives last carrying round 1's fire_passed=False
    siji.complete("fire", iid, "Task_FireReview", {"fire_passed": True})
    siji.complete("housing", iid, "Task_HousingReview", {"housing_passed": True})
    siji.complete("bureau", iid, "Task_Decide", {"approved": True})
    data = siji.instance(iid)["data"]
    assert data["fire_passed"] is True and data["housing_passed"] is True
