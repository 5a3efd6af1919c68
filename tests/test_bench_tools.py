"""The benchmark's baseline runs (figures are printed by tools/bench, never asserted here)."""

from __future__ import annotations

import importlib.machinery
import importlib.util

from conftest import ROOT


def _load(name: str):
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(ROOT / "tools" / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_engine_limit_completes_the_parallel_review_with_plain_spiffworkflow():
    from engine.workflow.baseline import engine_limit_ms, run_all_user_tasks, set_start_data

    bench = ROOT / "tests" / "data" / "bench"
    seen = []

    def prepare(wf):
        set_start_data(wf, {"period_days": 30})
        run_all_user_tasks(wf, lambda t: {"accepted": True} if t.task_spec.bpmn_id == "Task_Accept" else None)

    def data(task):
        seen.append(task.task_spec.bpmn_id)
        return {"review0": True}

    times = engine_limit_ms(bench / "bench28.bpmn", "bench28", prepare, data, rounds=3)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert seen == ["Task_Review0"] * 3  # the same task of the 5-way parallel block each round


def test_bench_script_loads():
    mod = _load("bench.py")
    assert callable(mod.run) and callable(mod.engine_limit)
