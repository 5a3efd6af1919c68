"""The shipped diagrams, DMN, forms, settings and catalogue deploy together, as ./tools/run does."""

from __future__ import annotations

import json

from conftest import ROOT

from engine import roles

FLOWS = {
    "business_opening": "开户即开业",
    "land_to_construction": "拿地即开工",
    "completion_acceptance": "建成即使用",
    "enterprise_call": "呼叫即回应",
}


def test_everything_in_bpmn_and_forms_deploys_through_the_api(siji):
    body = siji.deploy_paths(ROOT / "bpmn", ROOT / "forms")
    assert sorted(v["key"] for v in body["versions"]) == sorted(FLOWS)
    for key, name in FLOWS.items():
        d = siji.ok(siji.get(f"/api/process-definitions/{key}", "analyst"))
        assert d["name"] == name
        assert d["start_form"] is not None, key
        assert d["tasks"], key
        for t in d["tasks"]:
            if t["role"] is None:  # the department comes from the case's data (engine/task_roles.py)
                assert t["role_from"], (key, t)
            else:
                assert roles.is_role(t["role"]) and t["role"] not in roles.SYSTEM_ROLES, (key, t)
            assert t["name"], (key, t)
    res = siji.ok(siji.get("/api/process-definitions/land_to_construction/resources", "analyst"))
    assert "land_project_scope.dmn" in res["dmn"]
    assert res["settings"]["notice_period_days"] == 7 and res["settings"]["listing_period_days"] == 10


def test_every_user_task_has_its_form_file_and_every_form_file_a_task():
    import re

    for key in FLOWS:
        xml = (ROOT / "bpmn" / f"{key}.bpmn").read_text(encoding="utf-8")
        tasks = set(re.findall(r'<bpmn:userTask id="([^"]+)"', xml))
        forms = {p.stem for p in (ROOT / "forms" / key).glob("*.form")} - {"start"}
        assert tasks == forms, (key, tasks ^ forms)


def test_catalogue_names_the_four_items_of_the_plan_and_says_the_rest_are_open():
    cat = json.loads((ROOT / "bpmn" / "catalogue.json").read_text(encoding="utf-8"))
    names = {i["name"] for i in cat["items"] if i.get("from_plan")}
    assert names == {"预包装食品销售", "小型美容美发店", "中介公司", "便利店经营"}
    assert "24" in cat["_note"]
    for item in cat["items"]:
        assert item["path"] in ("commitment", "filing", "review")
        assert roles.is_role(item["department"])


def test_cli_deploys_the_repository(tmp_path, monkeypatch, capsys):
    from engine.cli.main import main

    monkeypatch.setenv("SIJI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.chdir(ROOT)
    assert main(["deploy", "bpmn", "forms"]) == 0
    out = capsys.readouterr().out
    for key in FLOWS:
        assert f"deployed {key} version 1" in out
    assert main(["demo"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert any(ln.split()[0] == "dept_fire_rescue" and ln.split()[-1].startswith("sj_") for ln in lines)
    assert main(["user", "add", "someone", "--role", "fire_rescue"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("sj_")


def test_applicant_sees_why_the_materials_came_back(siji):
    """The correction task shows the one-time notice (a read-only field) and drops it if echoed."""
    from test_flow_business_opening import application, check_bad

    siji.deploy_paths(ROOT / "bpmn", ROOT / "forms")
    iid = siji.start("business_opening", "ent_a", application())["id"]
    siji.complete("bureau", iid, "Task_CheckMaterials", check_bad(1))
    task = siji.task_for("ent_a", iid, "Task_CorrectMaterials")
    detail = siji.ok(siji.get(f"/api/tasks/{task['id']}", "ent_a"))
    notice = check_bad(1)["correction_notice"]
    assert detail["data"]["correction_notice"] == notice
    shown = [c for c in detail["form"]["components"] if c.get("key") == "correction_notice"]
    assert shown and shown[0]["readonly"] is True
    # echoing the read-only value back does not overwrite the bureau's notice
    siji.complete(
        "ent_a",
        iid,
        "Task_CorrectMaterials",
        {
            "corrected_items": [{"corrected_item_name": "股东身份证明"}],
            "correction_confirmed": True,
            "correction_notice": "被篡改的告知",
        },
    )
    task = siji.task_for("bureau", iid, "Task_CheckMaterials")
    assert siji.ok(siji.get(f"/api/tasks/{task['id']}", "bureau"))["data"].get("correction_notice") == notice
