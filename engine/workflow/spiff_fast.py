"""Faster task queries for live, in-memory workflows (the simulator, engine/simulation/).

SpiffWorkflow 3.2 answers ``get_tasks(state=READY)``, ``update_waiting_tasks`` and ``is_completed``
by walking the task tree, and ``do_engine_steps`` asks several times per step: that walk is over
half the time of a simulated case. The workflow also keeps every task in a map (``wf.tasks``,
kept in step with the tree by ``_remove_task``), so the same answers come from scanning the map,
then putting the few matches into the tree's depth-first order — the order the walk yields, with
a sub-process's tasks right after the task that runs it, before that task's children.

Only for workflows passed to :func:`accelerate` (one object at a time; nothing global changes);
tests/test_simulation.py checks that accelerated and plain runs give identical cases.
"""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

FINISHED = TaskState.FINISHED_MASK
NOT_FINISHED = TaskState.NOT_FINISHED_MASK


def _position(task, memo: dict) -> tuple:
    """The task's place in a depth-first walk of the whole case (sub-processes included).

    Memoised per case: a task's place is its parent's place plus its index among the parent's
    children, and a finished ancestor's children are not reordered (SpiffWorkflow drops only
    predicted children, which come before any ready task below them is asked about). Each use
    re-checks the index at the last level; the equivalence test guards the rest."""
    hit = memo.get(task.id)
    if hit is not None:
        parent = task.parent
        if parent is None or (len(parent._children) >= hit[-1] and parent._children[hit[-1] - 1] == task.id):
            return hit
    parent = task.parent
    if parent is not None:
        key = _position(parent, memo) + (1 + parent._children.index(task.id),)
    else:
        wf = task.workflow
        parent_id = getattr(wf, "parent_task_id", None)
        key = () if parent_id is None else _position(wf.top_workflow.get_task_from_id(parent_id), memo) + (0,)
    memo[task.id] = key
    return key


def _ordered(tasks: list, memo: dict) -> list:
    return tasks if len(tasks) < 2 else sorted(tasks, key=lambda t: _position(t, memo))


def _inside(sub, w) -> bool:
    """Whether sub-process workflow ``sub`` runs (at any depth) inside workflow ``w``."""
    top = sub.top_workflow
    while sub is not w:
        parent_id = getattr(sub, "parent_task_id", None)
        if parent_id is None:
            return False
        parent = top.get_task_from_id(parent_id)
        if parent is None:
            return False
        sub = parent.workflow
    return True


def accelerate(wf, memo: dict | None = None) -> None:
    """Give workflow ``wf`` (and every sub-process workflow it starts later) map-based task
    queries: the same results in the same order."""
    plain_get_tasks = wf.get_tasks
    top = getattr(wf, "top_workflow", None) or wf
    if memo is None:
        memo = {}

    def get_tasks(first_task=None, **kwargs):
        state = kwargs.get("state")
        if first_task is not None or state is None or set(kwargs) - {"state", "manual"}:
            return plain_get_tasks(first_task, **kwargs)
        manual = kwargs.get("manual")
        found = []
        for w in (wf, *(s for s in top.subprocesses.values() if s is not wf)):
            if w is not wf:
                if not _inside(w, wf):
                    continue
                parent = top.get_task_from_id(w.parent_task_id)
                # the walk does not descend into a finished sub-process for unfinished tasks
                if parent is None or (parent.state >= FINISHED and state <= FINISHED):
                    continue
            for t in w.tasks.values():
                if t._state & state and (manual is None or t.task_spec.manual == manual):
                    found.append(t)
        return _ordered(found, memo)

    def update_waiting_tasks():
        for t in _ordered([t for t in wf.tasks.values() if t._state == TaskState.WAITING], memo):
            t.task_spec._update(t)

    def is_completed():
        if not wf.completed and not any(t._state & NOT_FINISHED for t in wf.tasks.values()):
            wf.completed = True
        return wf.completed

    wf.get_tasks = get_tasks
    wf.update_waiting_tasks = update_waiting_tasks
    wf.is_completed = is_completed
    if wf is top:
        plain_create = wf.create_subprocess

        def create_subprocess(*args, **kwargs):
            sub = plain_create(*args, **kwargs)
            accelerate(sub, memo)
            return sub

        wf.create_subprocess = create_subprocess
