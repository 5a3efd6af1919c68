"""The one clock: every timestamp and every timer reads it, so tests move time without sleeping.

SpiffWorkflow's timer definitions call ``datetime.now(timezone.utc)`` directly; we swap the
``datetime`` name in that module for a subclass whose ``now`` asks the active clock.
"""

from __future__ import annotations

import contextvars
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

UTC = UTC


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time plus an offset (acceptance testing moves the service clock forward)."""

    def __init__(self, offset: timedelta = timedelta(0)):
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def set_offset(self, offset: timedelta) -> None:
        with self._lock:
            self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


class FixedClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
        return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


_default_clock: Clock = SystemClock()
_active: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("siji_clock", default=None)


def current() -> Clock:
    return _active.get() or _default_clock


def now() -> datetime:
    return current().now()


class use:
    """Context manager: run engine work under a given clock."""

    def __init__(self, clock: Clock):
        self.clock = clock

    def __enter__(self):
        self._token = _active.set(self.clock)
        return self.clock

    def __exit__(self, *exc):
        _active.reset(self._token)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D401 - mirrors datetime.now
        value = current().now()
        return value.astimezone(tz) if tz is not None else value.astimezone().replace(tzinfo=None)


def _install() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockedDatetime


_install()
