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


class _Chain:
    """A task and its ancestors, each with its distance above the task.

    Whether one task lies above another is answered by walking the other's branch up to where it
    joins this chain, not up to the root: a case's tree grows with every round and every step,
    and walking each join copy to the root made a join cost more the longer the case ran."""

    __slots__ = ("tasks", "dist", "copies")

    def __init__(self, task):
        self.tasks: list = []
        self.dist: dict = {}
        t = task
        while t is not None:
            self.dist[t.id] = len(self.tasks)
            self.tasks.append(t)
            t = t.parent
        spec = task.task_spec
        self.copies = [d for d in range(1, len(self.tasks)) if self.tasks[d].task_spec is spec]

    @classmethod
    def of(cls, task) -> _Chain:
        """The chain of ``task``, built once: a waiting join is checked after every completion in
        its workflow, and a task's ancestors never change (a removed ancestor takes it along)."""
        chain = task.__dict__.get("_siji_chain")
        if chain is None:
            chain = task.__dict__["_siji_chain"] = cls(task)
        return chain

    def meet(self, task) -> int | None:
        """Distance on the chain of the nearest strict ancestor of ``task`` that lies on it."""
        t = task.parent
        while t is not None:
            d = self.dist.get(t.id)
            if d is not None:
                return d
            t = t.parent
        return None

    def last_firing(self) -> int | None:
        """Distance of the join's own previous firing (a completed copy above the task)."""
        for d in self.copies:
            if self.tasks[d].state == TaskState.COMPLETED:
                return d
        return None


def _current(last: int | None, d: int | None) -> bool:
    """Whether a copy of the join whose branch meets the chain at ``d`` belongs to this activation:
    there was no previous firing, or that firing lies above the copy."""
    return last is None or (d is not None and d <= last)


def _check_threshold_unstructured(self, my_task, copies=None):
    chain = _Chain.of(my_task)
    last = chain.last_firing()
    waiting_inputs = set(self.inputs)

    def remove_ancestor(task):
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
        elif task.parent is not None:
            remove_ancestor(task.parent)

    # The join's copies in its own (sub)workflow, read straight off the task map: walking the
    # tree with get_tasks() cost more than the rest of the engine step on a wide diagram.
    if copies is None:
        copies = [t for t in my_task.workflow.tasks.values() if t.task_spec is self]
    for task in copies:
        d = chain.meet(task)
        if task is not my_task and not _current(last, d):
            continue  # a copy left over from an earlier round
        if d == 0:  # below this copy
            remove_ancestor(task)
        elif chain.dist.get(task.id, 0) > 0:  # above this copy
            continue
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


def _update_hook(self, my_task):
    """UnstructuredJoin._update_hook with one scan of the task map for the join's copies, shared by
    the threshold check and the cancelling of the other waiting copies (3.2 scans twice, and a
    waiting join is updated after every completion in its workflow)."""
    copies = [t for t in my_task.workflow.tasks.values() if t.task_spec is self]
    may_fire = self._check_threshold_unstructured(my_task, copies)
    for task in [t for t in copies if t is not my_task and t.state == TaskState.WAITING]:
        task.cancel()  # as 3.2: so they are not updated again and again
    if not may_fire:
        my_task._set_state(TaskState.WAITING)  # only the newest copy waits
    else:
        my_task._inherit_data()
    return may_fire


def _run_hook(self, my_task):
    chain = _Chain.of(my_task)
    last = chain.last_firing()
    others = []  # (copy, where its branch left this copy's chain)
    for t in my_task.workflow.tasks.values():
        if t.task_spec != self or t is my_task or not t.has_state(TaskState.FINISHED_MASK):
            continue
        if chain.dist.get(t.id, 0) > 0:  # above this copy
            continue
        d = chain.meet(t)
        if not _current(last, d):
            continue
        # the divergence point: the nearest strict ancestor of my_task above the copy
        others.append((t, None if d is None else max(d, 1)))
    others.sort(key=lambda o: o[0].last_state_change)

    points = [d for _, d in others if d is not None]
    if not points:  # nothing to merge: 3.2's behaviour
        my_task._inherit_data()
        return True
    split = chain.tasks[max(points)]  # the split: the divergence point nearest the root
    result = copy.deepcopy(split.data)

    def apply(branch_data: dict, base: dict) -> None:
        for k, v in branch_data.items():
            if base.get(k, _MISSING) != v:
                result[k] = copy.deepcopy(v)
        for k in base:
            if k not in branch_data:
                result.pop(k, None)

    for t, d in others:
        apply(t.parent.data, (split if d is None else chain.tasks[d]).data)
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
    ParallelGateway._update_hook = _update_hook
    ParallelGateway._siji_fixed = True


install()
