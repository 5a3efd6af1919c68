"""The case file in front of the clerk (issue 14, item 6) and data carried between flows (item 7).

A review task shows, read-only, the application and what earlier steps filled, bound through
form-js and filled from the case's data, with no empty read-only boxes; a submitted value for a
read-only field is never taken. A new case of one flow takes a finished case's fields over from
another flow, found by id, business key or a lookup key (a USCC, a project code)."""

from __future__ import annotations

import json

import pytest
from test_deadlines import DL, START


def fields_of(form: dict) -> dict[str, dict]:
    from engine.forms.compile import walk_components

    return {
        c.get("key") or c.get("path"): c for c in walk_components(form["components"]) if c.get("key") or c.get("path")
    }


@pytest.fixture
def dl(siji):
    siji.deploy_paths(DL)
    return siji


def test_review_task_shows_the_case_file_read_only(dl):
    h = dl
    start = dict(START)  # no description: an empty box must not be shown
    iid = h.start("dl", "ent_a", start, business_key="XM-CF")["id"]
    check = h.task_for("bureau", iid, "Task_Check")
    page = h.ok(h.post(f"/api/tasks/{check['id']}/claim", "bureau"))
    assert (page["business_key"], page["display_name"], page["process_name"]) == (
        "XM-CF",
        "示例厂房项目",
        "时限测试流程",
    )
    # the form's own read-only fields are served with the values they bind to
    assert page["data"]["enterprise_name"] == "示例企业有限公司" and page["data"]["project_name"] == "示例厂房项目"
    assert fields_of(page["form"])["enterprise_name"]["readonly"] is True
    # the case file: the rest of the application, read-only; what the task's form shows itself
    # and what nobody filled are left out
    cf = page["case_file"]
    groups = cf["form"]["components"]
    assert [g["label"] for g in groups] == ["申请 / application"]
    shown = fields_of(cf["form"])
    assert set(cf["data"]) == {"project_code", "materials"}
    assert {"project_code", "materials", "material_name"} <= set(shown)
    assert "description" not in shown and "enterprise_name" not in shown
    assert all(c.get("readonly") for c in shown.values() if c.get("key"))
    assert cf["data"]["materials"] == START["materials"]
    from engine.forms.compile import compile_form

    compile_form(cf["form"])  # a form form-js and the server both read

    # a value sent for a read-only field is not taken
    h.complete("bureau", iid, "Task_Check", {"enterprise_name": "篡改的名称", "check_opinion": "材料齐全"})
    assert h.instance(iid)["data"]["enterprise_name"] == "示例企业有限公司"
    assert h.ok(h.get(f"/api/tasks/{check['id']}", "bureau"))["display_name"] == "示例厂房项目"

    # the next department sees the application and the first opinion
    fire = h.task_for("fire", iid, "Task_FireReview")
    page = h.ok(h.get(f"/api/tasks/{fire['id']}", "fire"))
    cf = page["case_file"]
    assert [g["label"] for g in cf["form"]["components"]] == ["申请 / application", "受理审查"]
    assert cf["data"]["check_opinion"] == "材料齐全" and cf["data"]["enterprise_name"] == "示例企业有限公司"
    h.complete("fire", iid, "Task_FireReview", {"fire_opinion": "符合消防要求"})
    # the applicant's step shows the fire opinion its form binds read-only
    sup = h.task_for("ent_a", iid, "Task_Supplement")
    page = h.ok(h.get(f"/api/tasks/{sup['id']}", "ent_a"))
    assert page["data"]["fire_opinion"] == "符合消防要求"
    assert fields_of(page["form"])["fire_opinion"]["readonly"] is True


def test_empty_read_only_fields_are_left_out_of_the_served_form(dl):
    h = dl
    iid = h.start("dl", "ent_a", {k: v for k, v in START.items() if k != "project_name"})["id"]
    check = h.task_for("bureau", iid, "Task_Check")
    assert check["display_name"] == "示例企业有限公司"  # the second display field
    page = h.ok(h.get(f"/api/tasks/{check['id']}", "bureau"))
    assert "project_name" not in fields_of(page["form"]) and "enterprise_name" in fields_of(page["form"])


def test_deploy_refuses_a_read_only_field_nothing_fills(siji):
    files = {"dl.bpmn": (DL / "dl.bpmn").read_bytes(), "dl.settings.json": (DL / "dl.settings.json").read_bytes()}
    files.update({f"forms/dl/{p.name}": p.read_bytes() for p in (DL / "forms" / "dl").iterdir()})
    form = json.loads(files["forms/dl/Task_FireReview.form"])
    form["components"].insert(0, {"type": "textfield", "key": "land_area", "label": "用地面积", "readonly": True})
    files["forms/dl/Task_FireReview.form"] = json.dumps(form).encode()
    resp = siji.deploy_files(files)
    assert resp.status_code == 422
    problem = [p for p in resp.get_json()["problems"] if p["element"] == "Task_FireReview"]
    assert problem and "land_area" in problem[0]["message"] and problem[0]["file"] == "forms/dl/Task_FireReview.form"


# ------------------------------------------------------------------ item 7: carried between flows
def finish_dl(h, user="ent_a", code="2509-370871-04-01-000001", business_key="XM-DONE"):
    iid = h.start("dl", user, dict(START, project_code=code), business_key=business_key)["id"]
    h.complete("bureau", iid, "Task_Check", {"check_opinion": "齐全"})
    h.complete("fire", iid, "Task_FireReview", {"fire_opinion": "符合"})
    h.complete(user, iid, "Task_Supplement", {})
    h.complete("bureau", iid, "Task_Decide", {"approved": True, "permit_no": "XK-2025-0001"})
    assert h.instance(iid)["outcome"]["id"] == "End_Done"
    return iid


def test_a_finished_case_carries_its_data_into_the_next_flow(dl):
    h = dl
    src = finish_dl(h)
    # by id: the start form's fields and the permit (not in the start form) are taken over
    new = h.start("dl_next", "ent_a", {"acceptance_note": "申请竣工验收"}, from_instance=src)
    data = h.instance(new["id"])["data"]
    assert (data["project_code"], data["enterprise_name"], data["permit_no"]) == (
        "2509-370871-04-01-000001",
        "示例企业有限公司",
        "XK-2025-0001",
    )
    assert data["carried_from"] == {"process_instance_id": src, "process_key": "dl", "business_key": "XM-DONE"}
    assert new["display_name"] == "示例厂房项目"
    accept = h.task_for("housing", new["id"], "Task_Accept")
    page = h.ok(h.get(f"/api/tasks/{accept['id']}", "housing"))
    assert page["data"]["permit_no"] == "XK-2025-0001"
    # typed values do not override the record
    other = h.start("dl_next", "ent_a", {"project_name": "别的名字"}, from_business_key="XM-DONE")
    assert h.instance(other["id"])["data"]["project_name"] == "示例厂房项目"
    # by the project code (the source flow's lookup field)
    third = h.start("dl_next", "ent_a", {}, from_match="2509-370871-04-01-000001")
    assert h.instance(third["id"])["data"]["permit_no"] == "XK-2025-0001"
    # the preview a department of the target flow reads (it cannot see the source case itself)
    preview = h.ok(h.get("/api/process-definitions/dl_next/carry-over?match=2509-370871-04-01-000001", "housing"))
    assert preview["source"]["id"] == src and preview["data"]["permit_no"] == "XK-2025-0001"
    assert h.get(f"/api/process-instances/{src}", "housing").status_code == 404


def test_carry_over_refusals(dl):
    h = dl
    running = h.start("dl", "ent_a", START, business_key="XM-RUN")["id"]
    err = h.start("dl_next", "ent_a", {}, from_instance=running, expect=422)
    assert "from_instance" in err["fields"]
    err = h.start("dl_next", "ent_a", {}, from_business_key="XM-NONE", expect=422)
    assert "from_business_key" in err["fields"]
    done = finish_dl(h)
    # another enterprise's case is not visible to it: refused as if absent
    err = h.start("dl_next", "ent_b", {}, from_instance=done, expect=422)
    assert "from_instance" in err["fields"]
    err = h.start("dl_next", "ent_a", {}, from_instance=done, from_business_key="XM-DONE", expect=422)
    assert set(err["fields"]) == {"from_instance", "from_business_key"}
    # a flow without carry_over settings takes nothing over
    err = h.start("dl", "ent_a", START, from_instance=done, expect=422)
    assert "from_instance" in err["fields"]
    assert h.get("/api/process-definitions/dl_next/carry-over", "housing").status_code == 422
    assert h.get("/api/process-definitions/dl_next/carry-over?match=nope", "housing").status_code == 422
    # a department neither in the source case nor in the target flow reads nothing
    h.add_user("water", ["water_affairs"])
    assert h.get(f"/api/process-definitions/dl_next/carry-over?from_instance={done}", "water").status_code == 422
    assert h.get(f"/api/process-definitions/dl_next/carry-over?from_instance={done}", "fire").status_code == 200
