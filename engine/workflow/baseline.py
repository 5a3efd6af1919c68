"""The engine's own limit, for the benchmark: plain SpiffWorkflow with its default serializer
(spec embedded in the JSON) and its default script environment — no HTTP, no database, none of
our layers. Every service figure is reported as a ratio to this."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine.workflow.serializer import default_serializer


def _helpers():
    def days_after(n, start=None):
        return (datetime.now(UTC) + timedelta(days=float(n))).isoformat()

    return {"days_after": days_after}


def engine_limit_ms(bpmn: Path, process_id: str, prepare, complete_data, rounds: int = 200) -> list[float]:
    """Time load + complete one user task + engine steps + save, ``rounds`` times.

    ``prepare(workflow)`` advances a new workflow to the state to measure from; the first READY
    user task is then completed with ``complete_data(task)`` on every round, from the same saved
    state."""
    parser = CamundaParser()
    parser.add_bpmn_file(str(bpmn))
    spec = parser.get_spec(process_id)
    subs = parser.get_subprocess_specs(process_id)
    engine = PythonScriptEngine(environment=TaskDataEnvironment(_helpers()))
    wf = BpmnWorkflow(spec, subs, script_engine=engine)
    prepare(wf)
    saved = default_serializer.serialize_json(wf)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        w = default_serializer.deserialize_json(saved)
        w.script_engine = engine
        task = w.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(complete_data(task))
        task.run()
        w.do_engine_steps()
        w.refresh_timers()
        default_serializer.serialize_json(w)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run_all_user_tasks(wf, data_for):
    """Helper for ``prepare``: run engine steps, then complete READY user tasks matching
    ``data_for(task) -> dict | None`` until none match."""
    wf.do_engine_steps()
    while True:
        ready = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if data_for(t) is not None]
        if not ready:
            return
        for t in ready:
            t.data.update(data_for(t))
            t.run()
        wf.do_engine_steps()


def set_start_data(wf, data: dict) -> None:
    for t in wf.get_tasks(state=TaskState.READY):
        t.data.update(data)
