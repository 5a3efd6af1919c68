"""SpiffWorkflow 3.2 formats a log message and builds a dict of details on every task state
change, and on every (sub)workflow start and end, before the logger decides whether to emit
anything; with the logger at its default level the workflow's details even walk the whole task
tree. engine/logctx.py keeps the ``spiff.*`` loggers at WARNING, so nobody reads them: here they
are built only when the record will be emitted. That was a sixth of a simulated case's time.
"""

from __future__ import annotations

import logging
import time

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow import workflow as spiff_workflow
from SpiffWorkflow.util.task import TaskState

_task_log = spiff_task.logger


def _set_state(self, value: int) -> None:
    """Task._set_state, the same effects, its log records only when they are emitted."""
    if value != self._state:
        now = time.time()
        elapsed = now - self.last_state_change
        self.last_state_change = now
        self._state = value
        if _task_log.isEnabledFor(logging.INFO):
            _task_log.info(
                f"State changed to {TaskState.get_name(value)}", extra=self.collect_log_extras({"elapsed": elapsed})
            )
    elif _task_log.isEnabledFor(logging.DEBUG):
        _task_log.debug(f"State set to {TaskState.get_name(value)}", extra=self.collect_log_extras())


def _quiet_extras(cls, logger: logging.Logger) -> None:
    full = cls.collect_log_extras

    def collect_log_extras(self, dct=None):
        # every caller logs at INFO or DEBUG: below INFO nothing of theirs is emitted
        if not logger.isEnabledFor(logging.INFO):
            return {}
        return full(self, dct)

    collect_log_extras.__wrapped__ = full
    cls.collect_log_extras = collect_log_extras


def install() -> None:
    if getattr(spiff_task.Task, "_siji_quiet", False):
        return
    spiff_task.Task._set_state = _set_state
    _quiet_extras(spiff_task.Task, _task_log)
    _quiet_extras(spiff_workflow.Workflow, spiff_workflow.logger)
    spiff_task.Task._siji_quiet = True


install()
