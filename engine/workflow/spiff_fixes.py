"""Fixes to SpiffWorkflow 3.2's parallel join when the join sits inside a loop.

Every joint review in the plan can repeat (revise → review again), and 3.2 gets two things wrong
on the second round:

1. *The join fires early.* A branch that arrived first in an earlier round left a (cancelled)
   copy of the join behind; 3.2 still counts that copy's completed parent as an arrived token, so
   in the next round the join fires as soon as any other branch arrives.
2. *Stale data wins.* At the join 3.2 deep-merges every branch's whole data in arrival order, so a
   branch that arrives last overwrites the other branches' fresh answers with the copies it
   carried from before the split (and merges lists element by element, mixing rounds).

Both fixes keep to the current activation: only copies of the join that descend from the join's
own previous firing count, and each branch contributes only what it changed since the branches
diverged. Outside loops (no previous firing) the behaviour is 3.2's own, except that data merges
by changed keys, which gives the same result for branches that write their own keys.
"""

from __future__ import annotations

import copy

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskState

_MISSING = object()


def _last_firing(spec, my_task):
    t = my_task.parent
    while t is not None:
        if t.task_spec is spec and t.state == TaskState.COMPLETED:
            return t
        t = t.parent
    return None


def _ancestors(task) -> set:
    out = set()
    t = task.parent
    while t is not None:
        out.add(t.id)
        t = t.parent
    return out


def _check_threshold_unstructured(self, my_task):
    last = _last_firing(self, my_task)
    waiting_inputs = set(self.inputs)

    def remove_ancestor(task):
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
        elif task.parent is not None:
            remove_ancestor(task.parent)

    # The join's copies in its own (sub)workflow, read straight off the task map: walking the
    # tree with get_tasks() cost more than the rest of the engine step on a wide diagram.
    # Each copy's ancestors are collected once (Task.is_descendant_of walks the chain anew on
    # every call).
    mine = _ancestors(my_task)
    for task in [t for t in my_task.workflow.tasks.values() if t.task_spec is self]:
        above = _ancestors(task)
        if last is not None and task is not my_task and last.id not in above:
            continue  # a copy left over from an earlier round
        if my_task.id in above:
            remove_ancestor(task)
        elif task.id in mine:
            continue
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


def _run_hook(self, my_task):
    last = _last_firing(self, my_task)
    mine = _ancestors(my_task)
    others = [
        t
        for t in my_task.workflow.tasks.values()
        if t.task_spec == self
        and t is not my_task
        and t.has_state(TaskState.FINISHED_MASK)
        and t.id not in mine
        and (last is None or last.id in _ancestors(t))
    ]
    others.sort(key=lambda t: t.last_state_change)

    def divergence(task):
        a = task.parent
        while a is not None and a.id not in mine:
            a = a.parent
        return a

    points = [divergence(t) for t in others]
    points = [p for p in points if p is not None]
    if not points:  # nothing to merge: 3.2's behaviour
        my_task._inherit_data()
        return True
    # the split: the divergence point nearest the root
    depth = {}
    for p in points:
        d, a = 0, p
        while a.parent is not None:
            d, a = d + 1, a.parent
        depth[p.id] = d
    split = min(points, key=lambda p: depth[p.id])
    result = copy.deepcopy(split.data)

    def apply(branch_data: dict, base: dict) -> None:
        for k, v in branch_data.items():
            if base.get(k, _MISSING) != v:
                result[k] = copy.deepcopy(v)
        for k in base:
            if k not in branch_data:
                result.pop(k, None)

    for t, p in zip(others, [divergence(t) for t in others]):
        apply(t.parent.data, (p or split).data)
        if t.has_state(TaskState.COMPLETED):
            t._drop_children(force=True)
    apply(my_task.parent.data, split.data)
    my_task.data = result
    return True


def install() -> None:
    if getattr(ParallelGateway, "_siji_fixed", False):
        return
    ParallelGateway._check_threshold_unstructured = _check_threshold_unstructured
    ParallelGateway._run_hook = _run_hook
    ParallelGateway._siji_fixed = True


install()
