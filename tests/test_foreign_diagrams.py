"""Diagrams made elsewhere (tests/data/foreign/, see SOURCE.txt there): deploying any of them
answers 201 or a 422 whose JSON names the problem — never 500. A service task, which this service
has no connector to run, is refused with 422 naming the element."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATA

FOREIGN = DATA / "foreign"
DIAGRAMS = sorted(p for p in FOREIGN.rglob("*.bpmn"))


def test_corpus_is_there():
    assert len(DIAGRAMS) >= 6 and (FOREIGN / "SOURCE.txt").exists()
    for folder in {p.parent for p in DIAGRAMS}:
        assert any((folder / n).exists() for n in ("COPYING", "LICENSE")) or folder.name == "miwg", folder


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: str(Path(p).relative_to(FOREIGN)))
def test_foreign_diagram_deploys_or_is_refused_by_name(siji, path):
    resp = siji.deploy_files({path.name: path.read_bytes()})
    body = resp.get_json()
    assert resp.status_code in (201, 422), (resp.status_code, resp.get_data(as_text=True)[:2000])
    assert isinstance(body, dict)
    if resp.status_code == 422:
        assert body["error"] == "deployment_refused"
        problems = body["problems"]
        assert problems and all(p["message"] and p["file"] == path.name for p in problems), problems


@pytest.mark.parametrize("name", ["service_task.bpmn", "service_task_variable.bpmn"])
def test_service_task_is_refused_naming_the_element(siji, name):
    path = FOREIGN / "spiffworkflow" / name
    resp = siji.deploy_files({name: path.read_bytes()})
    assert resp.status_code == 422, resp.get_data(as_text=True)[:2000]
    problems = resp.get_json()["problems"]
    service_ids = {"service_task.bpmn": {"Activity-1inxqgx", "Activity_12erefa"},
                   "service_task_variable.bpmn": {"Activity_0xhr131"}}[name]
    assert {p["element"] for p in problems} == service_ids
    assert all("connector" in p["message"] and p["line"] for p in problems)
    # nothing of it was stored
    assert siji.ok(siji.get("/api/process-definitions", "analyst"))["items"] == []
