"""Diagrams made elsewhere (tests/data/foreign/, see SOURCE.txt there): deploying any of them
answers 201 or a 422 whose JSON names the problem (file, line, element) — never 500. What deploys
can really be started: a case that begins from a none start event answers 201 and does not sit on
a task no department holds, or a clear 422 — never 500."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import DATA
from lxml import etree

FOREIGN = DATA / "foreign"
DIAGRAMS = sorted(p for p in FOREIGN.rglob("*.bpmn"))
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _id(p) -> str:
    return str(Path(p).relative_to(FOREIGN))


def test_corpus_is_there():
    assert len(DIAGRAMS) >= 39 and (FOREIGN / "SOURCE.txt").exists()
    source = (FOREIGN / "SOURCE.txt").read_text(encoding="utf-8")
    for path in DIAGRAMS:
        assert path.name in source, f"{_id(path)} has no origin in SOURCE.txt"
        etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    for folder in {p.parent for p in DIAGRAMS}:
        assert any((folder / n).exists() for n in ("COPYING", "LICENSE")) or folder.name == "miwg", folder


def _deploy(siji, path):
    resp = siji.deploy_files({path.name: path.read_bytes()})
    assert resp.status_code in (201, 422), (resp.status_code, resp.get_data(as_text=True)[:2000])
    return resp, resp.get_json()


@pytest.mark.parametrize("path", DIAGRAMS, ids=_id)
def test_foreign_diagram_deploys_or_is_refused_by_name(siji, path):
    resp, body = _deploy(siji, path)
    assert isinstance(body, dict)
    if resp.status_code == 422:
        assert body["error"] == "deployment_refused"
        problems = body["problems"]
        assert problems, body
        for p in problems:  # every problem says where: file, line and element
            assert p["message"] and p["file"] == path.name and p["line"] and p["element"], p
    else:
        assert siji.ok(siji.get("/api/process-definitions", "analyst"))["items"]


def _none_start(path) -> bool:
    root = etree.fromstring(path.read_bytes())
    starts = root.findall(f"{BPMN}process/{BPMN}startEvent")
    return any(not [c for c in s if str(c.tag).endswith("EventDefinition")] for s in starts)


def test_what_deploys_can_start(siji):
    """Every diagram with a none start event that deploys is started through the API: 201 and a
    case that is done, or waits for a timer or a task some department holds — or a clear 422."""
    started = set()
    for path in (p for p in DIAGRAMS if _none_start(p)):
        resp, body = _deploy(siji, path)
        for version in body.get("versions", []) if resp.status_code == 201 else []:
            start = siji.post("/api/process-instances", "ent_a", json={"process_key": version["key"], "variables": {}})
            assert start.status_code in (201, 422), (_id(path), start.status_code, start.get_data(as_text=True)[:2000])
            case = start.get_json()
            if start.status_code == 422:
                assert case["error"] and case["message"], (_id(path), case)
                continue
            started.add(path.name)
            assert case["status"] in ("running", "completed"), (_id(path), case)
            if case["status"] == "running":
                assert case["timers"] or case["tasks"], (_id(path), case)
                assert all(t["role"] for t in case["tasks"]), (_id(path), case["tasks"])
    # the corpus holds runnable diagrams: scripts, an embedded multi-instance subprocess, a timer
    assert {"ScriptTest.bpmn", "sub_workflow_multi.bpmn", "timer.bpmn", "no-tasks.bpmn"} <= started, started


def test_a_foreign_timer_fires_and_the_case_ends(siji):
    path = FOREIGN / "spiffworkflow" / "timer.bpmn"
    assert _deploy(siji, path)[0].status_code == 201
    case = siji.start("timer", "ent_a")
    assert case["status"] == "running" and [t["activity_id"] for t in case["timers"]] == ["Event_0bxivgz"]
    assert siji.advance(timedelta(seconds=1)) == 1
    done = siji.ok(siji.get(f"/api/process-instances/{case['id']}", "ent_a"))
    assert done["status"] == "completed" and done["outcome"]["id"] == "Event_03w65sk"


def _problems(siji, folder, name):
    resp, body = _deploy(siji, FOREIGN / folder / name)
    assert resp.status_code == 422, body
    # nothing of a refused deployment is stored
    assert siji.ok(siji.get("/api/process-definitions", "analyst"))["items"] == []
    return body["problems"]


@pytest.mark.parametrize("name", ["service_task.bpmn", "service_task_variable.bpmn"])
def test_service_task_is_refused_naming_the_element(siji, name):
    problems = _problems(siji, "spiffworkflow", name)
    service_ids = {
        "service_task.bpmn": {"Activity-1inxqgx", "Activity_12erefa"},
        "service_task_variable.bpmn": {"Activity_0xhr131"},
    }[name]
    assert {p["element"] for p in problems} == service_ids
    assert all("connector" in p["message"] and p["line"] for p in problems)


# What the service cannot run is refused at deploy, each element named with its line — instead
# of a 500 from the database write or a case that waits for ever (plain tasks, send and receive
# tasks, a message or signal start, a call to a process that is not there).
@pytest.mark.parametrize(
    "folder, name, expected, words",
    [
        (
            "spiffworkflow",
            "exclusive_gateway_no_default.bpmn",
            {("Activity_Greater", 26), ("Activity_Less", 30)},
            "no department",
        ),
        (
            "spiffworkflow",
            "ParallelWithScript.bpmn",
            {("user_task_A", 36), ("user_task_B", 40), ("user_task_C", 44)},
            "manual task",
        ),
        # a send task cannot run; its partner, a message catch event, can (engine/workflow/messages.py)
        ("spiffworkflow", "collaboration.bpmn", {("ActivitySendLetter", 34)}, "send and receive tasks"),
        ("bpmn-js", "camunda.bpmn", {("send", 7)}, "send and receive tasks"),
        ("spiffworkflow", "business_rule_task.bpmn", {("Activity_0diq2z1", 14)}, "camunda:decisionRef"),
        ("spiffworkflow", "InvalidDecision.bpmn", {("InvalidDecisionTaskId", 11)}, "InvalidDecisionId"),
        ("miwg", "A.1.0.bpmn", None, "not marked executable"),
        ("bpmn-js", "empty-definitions.bpmn", {("empty-definitions", 3)}, "holds no process"),
        ("bpmn-js", "missing-namespace.bpmn", {("Definitions_1", 2)}, "BPMN namespace"),
    ],
)
def test_unrunnable_elements_are_refused_by_name(siji, folder, name, expected, words):
    problems = _problems(siji, folder, name)
    assert all(words in p["message"] for p in problems), problems
    if expected is not None:
        assert {(p["element"], p["line"]) for p in problems} == expected


def test_a_message_start_is_named_once_beside_the_plain_task(siji):
    problems = _problems(siji, "spiffworkflow", "multiple-start.bpmn")
    assert sorted((p["element"], p["line"]) for p in problems) == [("StartEvent_1", 4), ("any_task", 9)]


def test_a_call_to_a_process_not_in_the_file_is_named(siji):
    problems = _problems(siji, "spiffworkflow", "same_id.bpmn")
    call = [p for p in problems if p["element"] == "CALL_ACTIVITY"]
    assert len(call) == 1 and call[0]["line"] == 17 and "same_id_sub" in call[0]["message"]
