"""Commands counted and timed for /metrics (the metric objects live in engine/metrics.py)."""

from __future__ import annotations

import functools
import time

from engine.metrics import COMMAND_SECONDS, COMMANDS
from engine.service.errors import CommandError, StepFailed


def counted(command: str):
    """Count and time a command method: ``ok``, ``refused`` (a CommandError: the caller's fault or
    a race) or ``failed`` (anything else, an engine step failure included)."""

    def wrap(method):
        @functools.wraps(method)
        def inner(*args, **kwargs):
            t0 = time.perf_counter()
            outcome = "failed"
            try:
                result = method(*args, **kwargs)
                outcome = "ok"
                return result
            except StepFailed:
                raise
            except CommandError:
                outcome = "refused"
                raise
            finally:
                COMMANDS.labels(command, outcome).inc()
                COMMAND_SECONDS.labels(command).observe(time.perf_counter() - t0)

        return inner

    return wrap
