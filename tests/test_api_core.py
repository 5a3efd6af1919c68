"""The core service through HTTP: deploy, start, inbox, claim, complete, errors, races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import DATA

MINI = DATA / "mini"
GOOD_START = {"enterprise_name": "甲公司", "credit_code": "91350100M000100Y43"}


def mini_files(**override) -> dict[str, bytes]:
    files = {
        "mini.bpmn": (MINI / "mini.bpmn").read_bytes(),
        "mini.settings.json": (MINI / "mini.settings.json").read_bytes(),
        "forms/mini/Task_Review.form": (MINI / "forms/mini/Task_Review.form").read_bytes(),
        "forms/mini/Task_Correct.form": (MINI / "forms/mini/Task_Correct.form").read_bytes(),
        "forms/mini/start.form": (MINI / "forms/mini/start.form").read_bytes(),
    }
    for k, v in override.items():
        key = k.replace("__", "/").replace("_dot_", ".")
        if v is None:
            files.pop(key, None)
        else:
            files[key] = v
    return files


def bpmn_with(old: str, new: str) -> bytes:
    text = (MINI / "mini.bpmn").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new).encode("utf-8")


def problems(resp):
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == "deployment_refused"
    return body["problems"]


# ------------------------------------------------------------------ health and docs
def test_health_and_openapi(siji):
    assert siji.ok(siji.get("/api/health"))["database"] == "ok"
    spec = siji.ok(siji.get("/api/openapi.json"))
    for path in ("/api/deployments", "/api/tasks/{task_id}/complete", "/api/process-instances"):
        assert path in spec["paths"], path


def test_requests_without_token_are_refused(siji):
    resp = siji.get("/api/tasks")
    assert resp.status_code == 401
    assert "message" in resp.get_json()
    resp = siji.client.get("/api/tasks", headers={"Authorization": "Bearer sj_not-a-token"})
    assert resp.status_code == 401


# ------------------------------------------------------------------ deploy
def test_deploy_good_files_and_versions(siji):
    body = siji.deploy_paths(MINI)
    assert [(v["key"], v["version"]) for v in body["versions"]] == [("mini", 1)]
    again = siji.deploy_paths(MINI)
    assert again["versions"][0]["version"] == 2
    defs = siji.ok(siji.get("/api/process-definitions", "ent_a"))["items"]
    assert defs[0]["key"] == "mini" and defs[0]["versions"] == [1, 2]
    d = siji.ok(siji.get("/api/process-definitions/mini", "ent_a"))
    assert d["start_form"]["components"][0]["key"] == "enterprise_name"
    assert {t["activity_id"]: t["role"] for t in d["tasks"]} == {
        "Task_Review": "approval_bureau",
        "Task_Correct": "applicant",
    }
    xml = siji.get("/api/process-definitions/mini/xml?version=1", "analyst")
    assert xml.status_code == 200 and b'id="mini"' in xml.data


def test_only_analysts_deploy(siji):
    resp = siji.deploy_files(mini_files(), user="bureau")
    assert resp.status_code == 403


def test_deploy_broken_xml(siji):
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=b"<bpmn:definitions><unclosed>")))
    assert p[0]["file"] == "mini.bpmn" and p[0]["line"] == 1
    assert "XML" in p[0]["message"]


def test_deploy_schema_invalid(siji):
    bad = bpmn_with(
        '<bpmn:userTask id="Task_Review" name="审查材料">',
        '<bpmn:userTask id="Task_Review" name="审查材料" bogusAttribute="1">',
    )
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=bad)))
    assert any("XSD" in x["message"] and x["line"] == 22 and x["element"] == "Task_Review" for x in p), p


def test_deploy_dangling_flow(siji):
    bad = bpmn_with(
        'sourceRef="Task_Correct" targetRef="Task_Review"', 'sourceRef="Task_Correct" targetRef="Task_Nowhere"'
    )
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=bad)))
    assert any(x["element"] == "Flow_Corrected" and "Task_Nowhere" in x["message"] and x["line"] for x in p), p


def test_deploy_task_in_unknown_lane(siji):
    bad = bpmn_with('name="行政审批服务局"', 'name="不存在的局"')
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=bad)))
    assert any(x["element"] == "Task_Review" and "不存在的局" in x["message"] and x["line"] == 22 for x in p), p


def test_deploy_missing_form(siji):
    p = problems(siji.deploy_files(mini_files(forms__mini__Task_Correct_dot_form=None)))
    assert any(x["element"] == "Task_Correct" and "form" in x["message"] for x in p), p


def test_deploy_reserved_id(siji):
    bad = (
        bpmn_with('id="End_Late"', 'id="End"')
        .replace(b'targetRef="End_Late"', b'targetRef="End"')
        .replace(b"<bpmn:flowNodeRef>End_Late</bpmn:flowNodeRef>", b"<bpmn:flowNodeRef>End</bpmn:flowNodeRef>")
    )
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=bad)))
    assert any(x["element"] == "End" and "内部名称" in x["message"] for x in p), p


def test_deploy_refuses_unsafe_expression(siji):
    bad = bpmn_with("complete == True", "().__class__.__base__.__subclasses__()")
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=bad)))
    assert any(x["element"] == "Flow_Complete" for x in p), p


def test_deploy_refused_changes_nothing(siji):
    siji.deploy_paths(MINI)
    siji.deploy_files(mini_files(mini_dot_bpmn=b"<broken"))
    defs = siji.ok(siji.get("/api/process-definitions", "analyst"))["items"]
    assert defs[0]["versions"] == [1]


# ------------------------------------------------------------------ start, inbox, claim, complete
def test_whole_case_through_http(siji):
    siji.deploy_paths(MINI)
    inst = siji.start("mini", "ent_a", GOOD_START, business_key="BK-1")
    assert inst["status"] == "running" and inst["version"] == 1
    assert [a["id"] for a in inst["active_activities"]] == ["Task_Review"]

    # inbox per role
    assert [t["activity_id"] for t in siji.inbox("bureau")] == ["Task_Review"]
    assert siji.inbox("fire") == []
    assert siji.inbox("ent_a") == []
    task = siji.inbox("bureau")[0]
    assert task["role"] == "approval_bureau" and task["role_name"] == "行政审批服务局"
    assert task["due_at"] is not None  # the boundary timer's due time

    # wrong role: the fire brigade cannot see (404) the bureau's task; the applicant neither
    assert siji.post(f"/api/tasks/{task['id']}/complete", "fire", json={"data": {"complete": True}}).status_code == 404
    assert siji.get(f"/api/tasks/{task['id']}", "ent_b").status_code == 404

    # claim / unclaim
    siji.add_user("bureau2", ["approval_bureau"])
    claimed = siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", "bureau"))
    assert claimed["assignee"] == "bureau"
    assert siji.post(f"/api/tasks/{task['id']}/claim", "bureau2").status_code == 409
    assert (
        siji.post(f"/api/tasks/{task['id']}/complete", "bureau2", json={"data": {"complete": True}}).status_code == 409
    )
    siji.ok(siji.post(f"/api/tasks/{task['id']}/unclaim", "bureau"))
    siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", "bureau2"))
    siji.ok(siji.post(f"/api/tasks/{task['id']}/unclaim", "bureau2"))

    # the form and its data
    detail = siji.ok(siji.get(f"/api/tasks/{task['id']}", "bureau"))
    assert detail["form"]["components"][0]["key"] == "complete"

    # invalid data names the fields
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": "yes", "extra": 1}})
    assert resp.status_code == 422
    fields = resp.get_json()["fields"]
    assert "complete" in fields and "extra" in fields
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": False}})
    assert resp.status_code == 422 and "missing_items" in resp.get_json()["fields"]

    # loop once, then finish
    siji.complete("bureau", inst["id"], "Task_Review", {"complete": False, "missing_items": "营业执照副本"})
    correct = siji.task_for("ent_a", inst["id"], "Task_Correct")
    assert correct["role"] == "applicant"
    assert siji.inbox("ent_b") == []  # the other enterprise does not see it
    siji.complete("ent_a", inst["id"], "Task_Correct", {"correction_note": "已补正"})
    siji.complete("bureau", inst["id"], "Task_Review", {"complete": True})

    done = siji.instance(inst["id"], "ent_a")
    assert done["status"] == "completed"
    assert done["outcome"] == {"id": "End_Approved", "name": "已受理"}
    assert done["data"]["review_rounds"] == 2
    assert done["data"]["credit_code"] == GOOD_START["credit_code"]
    assert siji.completed_activities(inst["id"]) == ["Task_Review", "Task_Correct", "Task_Review"]
    actors = [(t, a, u) for (t, a, u, _) in siji.trace(inst["id"]) if t == "complete"]
    assert [u for (_, _, u) in actors] == ["bureau", "ent_a", "bureau"]
    # nothing is left in anyone's inbox
    assert siji.inbox("bureau") == []
    # the instance list is filtered per caller
    assert [i["id"] for i in siji.ok(siji.get("/api/process-instances", "ent_a"))["items"]] == [inst["id"]]
    assert siji.ok(siji.get("/api/process-instances", "ent_b"))["items"] == []
    assert siji.get(f"/api/process-instances/{inst['id']}", "ent_b").status_code == 404
    listed = siji.ok(siji.get("/api/process-instances?status=completed&business_key=BK-1", "auditor"))
    assert listed["total"] == 1


def test_start_validates_against_start_form(siji):
    siji.deploy_paths(MINI)
    resp = siji.post(
        "/api/process-instances",
        "ent_a",
        json={"process_key": "mini", "variables": {"enterprise_name": "甲", "credit_code": "91350100M000100Y44"}},
    )
    assert resp.status_code == 422 and "credit_code" in resp.get_json()["fields"]
    resp = siji.post("/api/process-instances", "ent_a", json={"process_key": "nope"})
    assert resp.status_code == 404
    resp = siji.post("/api/process-instances", "bureau", json={"process_key": "mini", "variables": GOOD_START})
    assert resp.status_code == 403
    resp = siji.post("/api/process-instances", "ent_a", json={"process_key": "mini", "actor": "admin"})
    assert resp.status_code == 422 and "actor" in resp.get_json()["fields"]


def test_running_instance_keeps_its_version(siji):
    siji.deploy_paths(MINI)
    old = siji.start("mini", "ent_a", GOOD_START)
    v2 = bpmn_with('name="审查材料"', 'name="审查材料（第二版）"')
    siji.ok(siji.deploy_files(mini_files(mini_dot_bpmn=v2)), 201)
    new = siji.start("mini", "ent_a", GOOD_START)
    assert old["version"] == 1 and new["version"] == 2
    names = {t["process_instance_id"]: t["name"] for t in siji.inbox("bureau")}
    assert names == {old["id"]: "审查材料", new["id"]: "审查材料（第二版）"}
    siji.complete("bureau", old["id"], "Task_Review", {"complete": True})
    assert siji.instance(old["id"])["outcome"]["id"] == "End_Approved"


def test_failing_gateway_leaves_instance_unchanged(siji):
    # Neither condition is true when `complete` is missing from the data: the engine fails.
    bad_form = b'{"type":"default","components":[{"type":"textfield","key":"note","label":"\\u5907\\u6ce8"}]}'
    siji.ok(siji.deploy_files(mini_files(forms__mini__Task_Review_dot_form=bad_form)), 201)
    inst = siji.start("mini", "ent_a", GOOD_START)
    before = siji.instance(inst["id"])
    trace_before = siji.trace(inst["id"])
    task = siji.inbox("bureau")[0]
    resp = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"note": "x"}})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "engine_step_failed"
    assert body["activity_id"] in ("Gateway_Decision", "Script_Count") or body["activity_id"] == "Gateway_Decision"
    assert body["activity_name"]
    after = siji.instance(inst["id"])
    assert after == before
    assert siji.trace(inst["id"]) == trace_before
    assert siji.inbox("bureau")[0]["id"] == task["id"]
    incidents = siji.ok(siji.get(f"/api/incidents?process_instance_id={inst['id']}", "auditor"))["items"]
    assert len(incidents) == 1 and incidents[0]["activity_id"] == body["activity_id"]


def test_eight_threads_complete_one_task(siji):
    siji.deploy_paths(MINI)
    inst = siji.start("mini", "ent_a", GOOD_START)
    task = siji.inbox("bureau")[0]
    barrier = threading.Barrier(8)

    def go(_):
        barrier.wait()
        client = siji.app.test_client()
        r = client.post(
            f"/api/tasks/{task['id']}/complete", headers=siji.headers("bureau"), json={"data": {"complete": True}}
        )
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(go, range(8)))
    assert sorted(codes) == [200] + [409] * 7, codes
    done = siji.instance(inst["id"])
    assert done["status"] == "completed" and done["outcome"]["id"] == "End_Approved"
    assert sum(1 for (t, *_rest) in siji.trace(inst["id"]) if t == "complete") == 1


def test_idempotent_complete(siji):
    siji.deploy_paths(MINI)
    inst = siji.start("mini", "ent_a", GOOD_START)
    task = siji.inbox("bureau")[0]
    h = {"Idempotency-Key": "abc-1"}
    r1 = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": True}}, headers=h)
    r2 = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": True}}, headers=h)
    assert r1.status_code == 200 and r2.status_code == 200 and r2.get_json()["replayed"] is True
    r3 = siji.post(f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": False}}, headers=h)
    assert r3.status_code == 409
    assert sum(1 for (t, *_r) in siji.trace(inst["id"]) if t == "complete") == 1


def test_commissioner_starts_on_behalf_of_paired_enterprise(siji):
    siji.deploy_paths(MINI)
    siji.add_user("com", ["commissioner"], pair_with=["ent_a"])
    # mini only lets applicants start; the matrix still refuses other roles with 403
    resp = siji.post(
        "/api/process-instances", "com", json={"process_key": "mini", "variables": GOOD_START, "on_behalf_of": "ent_a"}
    )
    assert resp.status_code == 403


def test_candidate_groups_overrides_the_lane(siji):
    v = bpmn_with(
        '<bpmn:userTask id="Task_Review" name="审查材料">',
        '<bpmn:userTask id="Task_Review" name="审查材料" camunda:candidateGroups="fire_rescue">',
    )
    siji.ok(siji.deploy_files(mini_files(mini_dot_bpmn=v)), 201)
    inst = siji.start("mini", "ent_a", GOOD_START)
    assert siji.inbox("bureau") == []
    assert [t["role"] for t in siji.inbox("fire")] == ["fire_rescue"]
    siji.complete("fire", inst["id"], "Task_Review", {"complete": True})
    bad = bpmn_with(
        '<bpmn:userTask id="Task_Review" name="审查材料">',
        '<bpmn:userTask id="Task_Review" name="审查材料" camunda:candidateGroups="nobody">',
    )
    p = problems(siji.deploy_files(mini_files(mini_dot_bpmn=bad)))
    assert any(x["element"] == "Task_Review" and "nobody" in x["message"] for x in p), p


# ------------------------------------------------------------------ duplicate filtering
def test_redeploying_unchanged_files_makes_no_new_version(siji):
    import io

    files = mini_files()

    def deploy(files, only_changed=True):
        data = {f"file{i}": (io.BytesIO(c), n) for i, (n, c) in enumerate(files.items())}
        if only_changed:
            data["only_changed"] = "true"
        return siji.client.post(
            "/api/deployments", headers=siji.headers("analyst"), data=data, content_type="multipart/form-data"
        )

    first = siji.ok(deploy(files), 201)["versions"][0]
    assert (first["version"], first["new"]) == (1, True)
    again = siji.ok(deploy(files), 200)
    assert again["deployment_id"] is None
    assert [(v["version"], v["new"], v["changed"]) for v in again["versions"]] == [(1, False, [])]
    changed = dict(
        files,
        **{
            "forms/mini/Task_Review.form": files["forms/mini/Task_Review.form"].replace(
                b'"label"', b'"description": "x", "label"', 1
            )
        },
    )
    v2 = siji.ok(deploy(changed), 201)["versions"][0]
    assert (v2["version"], v2["new"], v2["changed"]) == (2, True, ["forms/mini/Task_Review"])
    # without duplicate filtering every deploy is a version, as before
    assert siji.ok(deploy(changed, only_changed=False), 201)["versions"][0]["version"] == 3


def test_cli_deploy_says_what_changed(tmp_path, capsys, monkeypatch):
    import shutil

    from engine.cli.main import main

    monkeypatch.setenv("SIJI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    src = tmp_path / "mini"
    shutil.copytree(MINI, src)
    assert main(["deploy", str(src)]) == 0
    assert "deployed mini version 1" in capsys.readouterr().out
    assert main(["deploy", str(src)]) == 0
    assert "unchanged mini: version 1" in capsys.readouterr().out
    bpmn = src / "mini.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace('name="审查材料"', 'name="审查材料（新）"', 1), encoding="utf-8"
    )
    assert main(["deploy", str(src)]) == 0
    out = capsys.readouterr().out
    assert "deployed mini version 2" in out and "changed since version 1: mini.bpmn" in out, out


def test_an_unknown_query_parameter_is_refused_naming_it(siji):
    """A misspelt filter must not silently list everything (webargs drops unknown query keys by
    default; api/blueprint.py makes every query schema refuse them)."""
    for url, user in (
        ("/api/tasks?proces_key=mini", "bureau"),
        ("/api/process-instances?stauts=running", "auditor"),
        ("/api/traces?format=json&departmnt=bank", "auditor"),
        ("/api/timers?bogus=1", "auditor"),
    ):
        resp = siji.get(url, user)
        assert resp.status_code == 422, (url, resp.get_data(as_text=True))
        name = url.split("?")[1].split("&")[-1].split("=")[0]
        assert name in resp.get_json()["fields"], (url, resp.get_json())
