"""The engine's speed-ups to SpiffWorkflow 3.2 give 3.2's answers (engine/workflow/spiff_*.py,
engine/workflow/scripting/script_engine.py).

Each is checked against a reference: 3.2's own code where it is still there, and for the
parallel join the walk-to-the-root version it replaced (kept below as the oracle), on every
join check of real flows run to their end."""

from __future__ import annotations

import ast
import copy
import logging
import random
import uuid

import pytest
from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.simulation.cli import settings_for
from engine.simulation.process import compile_process
from engine.simulation.runner import Simulation
from engine.workflow import spiff_merge
from engine.workflow.scripting import ScriptEngine
from engine.workflow.spiff_ids import counted_task_ids


# ------------------------------------------------------------------ DeepMerge.merge
def _value(rng: random.Random, depth: int):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.randrange(4)
    if kind == 1:
        return rng.choice(["a", "b", "审批"])
    if kind == 2:
        return rng.choice([None, True, False, 1.5])
    if kind == 3:
        return (rng.randrange(3), "t")
    if kind == 4:
        return {rng.choice("pqrs"): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.randrange(3), "x"}


def _data(rng: random.Random) -> dict:
    return {rng.choice("abcdefg"): _value(rng, 0) for _ in range(rng.randrange(6))}


@pytest.mark.parametrize("seed", range(8))
def test_merge_gives_3_2s_result(seed, monkeypatch):
    rng = random.Random(seed)
    merged = 0
    for _ in range(400):
        a, b = _data(rng), _data(rng)
        if rng.random() < 0.3:  # mostly the same data, as a parent's and its child's are
            a = copy.deepcopy(b)
            a.update(_data(rng))
        mine_a, mine_b = copy.deepcopy(a), copy.deepcopy(b)
        got = _outcome(DeepMerge.merge, mine_a, mine_b)
        with monkeypatch.context() as m:  # 3.2's merge, recursing into itself
            m.setattr(DeepMerge, "merge", staticmethod(DeepMerge._plain_merge))
            ref_a, ref_b = copy.deepcopy(a), copy.deepcopy(b)
            want = _outcome(DeepMerge.merge, ref_a, ref_b)
        # the same result, or the same error (3.2 fails on a list holding a dict where the other
        # holds a scalar, and so does this one), and a and b left alike
        assert got == want
        assert (mine_a, mine_b) == (ref_a, ref_b)
        if isinstance(got, dict):
            for k, v in b.items():  # a value taken from b is a copy, never b's own list or set
                if isinstance(v, (list, set)) and k not in a:
                    assert mine_a[k] is not mine_b[k]
        merged += isinstance(got, dict)
    assert merged > 300


def _outcome(merge, a, b):
    try:
        return merge(a, b)
    except TypeError as e:
        return type(e)


def test_merge_is_installed():
    assert DeepMerge.merge is spiff_merge.merge


# ------------------------------------------------------------------ log details
def test_state_change_logs_still_reach_a_listener_at_info():
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    log = logging.getLogger("spiff.task")
    handler, level = Keep(), log.level
    log.addHandler(handler)
    try:
        log.setLevel(logging.INFO)
        _simulate("business_opening", 1)
        changed = [r for r in records if r.getMessage().startswith("State changed to")]
        assert changed and all(getattr(r, "task_spec", None) for r in changed)
        records.clear()
        log.setLevel(logging.WARNING)
        _simulate("business_opening", 1)
        assert records == []
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def test_no_log_details_are_built_below_info(monkeypatch):
    """3.2 names the new state (and builds the details) on every change, logged or not."""
    calls = []
    plain = TaskState.get_name.__func__
    monkeypatch.setattr(TaskState, "get_name", classmethod(lambda cls, s: calls.append(s) or plain(cls, s)))
    task_log, wf_log = logging.getLogger("spiff.task"), logging.getLogger("spiff.workflow")
    levels = task_log.level, wf_log.level
    try:
        task_log.setLevel(logging.WARNING)
        wf_log.setLevel(logging.WARNING)
        sim, _ = _simulate("business_opening", 1)
        assert sim.cases[0].ended is not None and calls == []
        task_log.setLevel(logging.INFO)
        _simulate("business_opening", 1)
    finally:
        task_log.setLevel(levels[0])
        wf_log.setLevel(levels[1])
    assert len(calls) > 50  # the probe sees them when they are logged


# ------------------------------------------------------------------ task ids
def test_counted_task_ids_are_unique_uuids_and_restored_after():
    plain = spiff_task.uuid4
    sim, ids = _simulate("land_to_construction", 5, collect_ids=True)
    assert spiff_task.uuid4 is plain
    assert len(ids) == len(set(ids)) > 100
    assert all(isinstance(i, uuid.UUID) and uuid.UUID(str(i)) == i and hash(i) == hash(uuid.UUID(str(i))) for i in ids)
    # the prefix comes from the simulation's seed: the same run names its tasks the same way
    assert _simulate("land_to_construction", 5, collect_ids=True)[1] == ids


def test_counted_task_ids_do_not_leak_out_of_an_error():
    plain = spiff_task.uuid4
    with pytest.raises(RuntimeError), counted_task_ids(random.Random(1)):
        assert spiff_task.uuid4 is not plain
        raise RuntimeError
    assert spiff_task.uuid4 is plain


# ------------------------------------------------------------------ script engine
@pytest.mark.parametrize(
    "text", ["a == 1", "> 5", "'x'", "", "1 <", "4 < ? < 6", "in ['a', 'b']", "x +* 2", "审批 == 1", "(1, 2)"]
)
def test_validate_answers_as_3_2(text):
    def outcome(engine):
        try:
            engine.validate(text)
            return None
        except SyntaxError as e:
            return (type(e), e.msg, e.lineno, e.offset)

    want = outcome(PythonScriptEngine())
    assert outcome(ScriptEngine()) == want
    assert outcome(ScriptEngine()) == want  # and again from the cache
    assert (want is None) == _parses(text)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except SyntaxError:
        return False


# ------------------------------------------------------------------ the parallel join
def _reference_threshold(self, my_task) -> bool:
    """engine/workflow/spiff_fixes.py before the chain: every copy's ancestors walked to the root."""

    def ancestors(task) -> set:
        out, t = set(), task.parent
        while t is not None:
            out.add(t.id)
            t = t.parent
        return out

    last, t = None, my_task.parent
    while t is not None:
        if t.task_spec is self and t.state == TaskState.COMPLETED:
            last = t
            break
        t = t.parent
    waiting_inputs = set(self.inputs)

    def remove_ancestor(task):
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
        elif task.parent is not None:
            remove_ancestor(task.parent)

    mine = ancestors(my_task)
    for task in [t for t in my_task.workflow.tasks.values() if t.task_spec is self]:
        above = ancestors(task)
        if last is not None and task is not my_task and last.id not in above:
            continue
        if my_task.id in above:
            remove_ancestor(task)
        elif task.id in mine:
            continue
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


@pytest.mark.parametrize("key,n", [("land_to_construction", 30), ("completion_acceptance", 30)])
def test_join_threshold_agrees_with_the_walk_to_the_root(key, n, monkeypatch):
    checked = {"fire": 0, "wait": 0}
    mine = ParallelGateway._check_threshold_unstructured

    def both(self, my_task, copies=None):
        got = mine(self, my_task, copies)
        assert got == _reference_threshold(self, my_task), my_task.task_spec.bpmn_id
        checked["fire" if got else "wait"] += 1
        return got

    monkeypatch.setattr(ParallelGateway, "_check_threshold_unstructured", both)
    sim, _ = _simulate(key, n)
    assert all(c.ended is not None for c in sim.cases)
    assert checked["fire"] > n and checked["wait"] > n  # both answers were exercised


# ------------------------------------------------------------------ helpers
def _simulate(key: str, n: int, collect_ids: bool = False):
    settings, _ = settings_for(key, None)
    sim = Simulation(compile_process(key), settings, 3)
    ids: list = []
    if collect_ids:
        plain_init = spiff_task.Task.__init__

        def init(self, *a, **kw):
            plain_init(self, *a, **kw)
            ids.append(self.id)

        spiff_task.Task.__init__ = init
    try:
        sim.run(n)
    finally:
        if collect_ids:
            spiff_task.Task.__init__ = plain_init
    return sim, ids
