"""A user task's department taken from the case's data (camunda:candidateGroups="${var}",
engine/task_roles.py): the department named by the data gets the task in its own inbox; a value
that names no department refuses the step that set it (422 naming the variable, nothing written);
a malformed expression is refused at deploy time."""

from __future__ import annotations

import json

from test_api_core import GOOD_START, MINI, bpmn_with, mini_files, problems

DYNAMIC = (
    '<bpmn:userTask id="Task_Review" name="审查材料">',
    '<bpmn:userTask id="Task_Review" name="审查材料" camunda:candidateGroups="${reviewing_unit}">',
)


def dynamic_files(expr: str = "${reviewing_unit}") -> dict[str, bytes]:
    start = json.loads((MINI / "forms/mini/start.form").read_text(encoding="utf-8"))
    # a free-text field on purpose: the form does not restrict it, the role registry must
    start["components"].append(
        {"type": "textfield", "key": "reviewing_unit", "label": "审查部门", "validate": {"required": True}}
    )
    return mini_files(
        mini_dot_bpmn=bpmn_with(DYNAMIC[0], DYNAMIC[1].replace("${reviewing_unit}", expr)),
        forms__mini__start_dot_form=json.dumps(start, ensure_ascii=False).encode("utf-8"),
    )


def test_the_department_named_in_the_data_gets_the_task(siji):
    siji.ok(siji.deploy_files(dynamic_files()), 201)
    d = siji.ok(siji.get("/api/process-definitions/mini", "analyst"))
    review = next(t for t in d["tasks"] if t["activity_id"] == "Task_Review")
    assert review["role"] is None and review["role_from"] == "reviewing_unit"
    iid = siji.start("mini", "ent_a", dict(GOOD_START, reviewing_unit="fire_rescue"))["id"]
    assert [t["activity_id"] for t in siji.inbox("fire", process_instance_id=iid)] == ["Task_Review"]
    assert siji.inbox("bureau", process_instance_id=iid) == []
    task = siji.task_for("fire", iid, "Task_Review")
    assert task["role"] == "fire_rescue"
    assert siji.get(f"/api/tasks/{task['id']}", "bureau").status_code == 404


def test_an_unknown_department_refuses_the_start_and_writes_nothing(siji):
    siji.ok(siji.deploy_files(dynamic_files()), 201)
    for bad in ("no_such_unit", "applicant", "auditor", "commissioner"):
        resp = siji.post(
            "/api/process-instances",
            "ent_a",
            json={"process_key": "mini", "variables": dict(GOOD_START, reviewing_unit=bad)},
        )
        assert resp.status_code == 422, (bad, resp.get_json())
        body = resp.get_json()
        assert list(body["fields"]) == ["reviewing_unit"] and bad in body["fields"]["reviewing_unit"][0], body
    assert siji.ok(siji.get("/api/process-instances", "auditor"))["items"] == []
    assert siji.ok(siji.get("/api/incidents", "auditor"))["items"] == []


def test_a_malformed_role_expression_is_refused_at_deploy(siji):
    for expr in ("${reviewing unit}", "${a.b}", "#{x}"):
        p = problems(siji.deploy_files(dynamic_files(expr)))
        assert any(x["element"] == "Task_Review" and "candidateGroups" in x["message"] for x in p), (expr, p)
