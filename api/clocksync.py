"""The service clock's offset lives in the database so every API and worker process shares it.

Only used when SIJI_ALLOW_CLOCK_CONTROL=1 lets an admin move time forward for acceptance tests;
otherwise the offset stays zero.
"""
from __future__ import annotations

import time
from datetime import timedelta

from .models import ServiceSetting

KEY = "clock_offset"
REFRESH_SECONDS = 0.5


class ClockSync:
    def __init__(self, service):
        self.service = service
        self._checked = 0.0

    def refresh(self, force: bool = False) -> None:
        clock = self.service.clock
        if not hasattr(clock, "set_offset"):
            return
        mono = time.monotonic()
        if not force and mono - self._checked < REFRESH_SECONDS:
            return
        self._checked = mono
        with self.service.db.read() as s:
            row = s.get(ServiceSetting, KEY)
        seconds = float((row.value or {}).get("seconds", 0)) if row else 0.0
        clock.set_offset(timedelta(seconds=seconds))


def store_offset(session, seconds: float) -> None:
    row = session.get(ServiceSetting, KEY)
    if row is None:
        session.add(ServiceSetting(name=KEY, value={"seconds": seconds}))
    else:
        row.value = {"seconds": seconds}
