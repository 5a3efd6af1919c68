"""Long cases: SpiffWorkflow 3.2 loses sight of tasks deeper than 1000 in the task tree.

Each round of a loop adds a few levels to the tree (the task, its gateway …), so after some 500
rounds of a two-node loop the case's ready task sits below depth 1000. There 3.2's TaskIterator
stops descending (``max_depth=1000``, the default every caller uses): ``get_tasks()`` no longer
finds the ready task, the engine stops stepping, and ``is_completed()`` answers True — the case
would be reported completed with its work still open. ``Task.is_descendant_of``, which parallel
joins call, recurses once per level and would reach Python's recursion limit at the same depth.

So: iterate without a depth limit (the iterator keeps its own list of tasks and never recurses)
and test descent with a loop. A long case stays correct; its commands still cost more as it grows
(the README's instance-size figures).
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator

UNLIMITED = 1 << 30


def _unlimit(cls) -> None:
    init = cls.__init__
    code = init.__code__
    names = code.co_varnames[: code.co_argcount]
    defaults = list(init.__defaults__)
    i = names.index("max_depth") - (len(names) - len(defaults))
    if defaults[i] not in (1000, UNLIMITED):
        raise RuntimeError(f"unexpected {cls.__name__} signature: max_depth default {defaults[i]!r}")
    defaults[i] = UNLIMITED
    init.__defaults__ = tuple(defaults)


def _is_descendant_of(self, task) -> bool:
    t = self.parent
    while t is not None:
        if t == task:
            return True
        t = t.parent
    return False


def install() -> None:
    _unlimit(TaskIterator)
    _unlimit(BpmnTaskIterator)
    Task.is_descendant_of = _is_descendant_of


install()
