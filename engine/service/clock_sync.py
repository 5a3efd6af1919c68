"""Settings every process must share, kept in the database and re-read at most every
``REFRESH_SECONDS``: the service clock's offset and the version of the loaded holiday calendar.

The offset is only ever non-zero when SIJI_ALLOW_CLOCK_CONTROL=1 lets an admin move time forward
for acceptance tests. The calendar version changes whenever an admin loads a year's holidays
(``engine/service/calendar_years.py``); a process that sees a new version reloads the years from
the database, so a working-day deadline armed in any API or worker process follows the same
calendar.
"""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from engine.service.calendar_years import CALENDAR_KEY, load_calendar_years
from engine.store.models import ServiceSetting

KEY = "clock_offset"
REFRESH_SECONDS = 0.5


class ClockSync:
    def __init__(self, db, engine):
        self.db = db
        self.engine = engine
        self._checked = 0.0
        self.calendar_version = None
        self.calendar_changed = False   # set when this process reloaded the calendar; the worker clears it

    def refresh(self, force: bool = False) -> None:
        mono = time.monotonic()
        if not force and mono - self._checked < REFRESH_SECONDS:
            return
        self._checked = mono
        with self.db.read() as s:
            values = {r.name: (r.value or {}) for r in s.scalars(
                select(ServiceSetting).where(ServiceSetting.name.in_([KEY, CALENDAR_KEY])))}
        clock = self.engine.clock
        if hasattr(clock, "set_offset"):
            clock.set_offset(timedelta(seconds=float(values.get(KEY, {}).get("seconds", 0))))
        version = values.get(CALENDAR_KEY, {}).get("version", 0)
        if version != self.calendar_version:
            if self.calendar_version is not None:
                load_calendar_years(self.db, self.engine.calendar)
                self.calendar_changed = True
            self.calendar_version = version


def stored_offset(session, lock: bool = False) -> float:
    """The shared clock offset in seconds, read in ``session`` (``lock``: FOR UPDATE)."""
    q = select(ServiceSetting).where(ServiceSetting.name == KEY)
    if lock:
        q = q.with_for_update()
    row = session.scalars(q).first()
    return float((row.value or {}).get("seconds", 0)) if row else 0.0


def store_offset(session, seconds: float) -> None:
    row = session.get(ServiceSetting, KEY)
    if row is None:
        session.add(ServiceSetting(name=KEY, value={"seconds": seconds}))
    else:
        row.value = {"seconds": seconds}
