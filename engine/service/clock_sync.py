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

from engine.audit.chain import record_standalone
from engine.service.calendar_years import CALENDAR_KEY, load_calendar_years
from engine.service.errors import Forbidden
from engine.store.models import ServiceSetting

KEY = "clock_offset"
REFRESH_SECONDS = 0.5


class ClockSync:
    def __init__(self, db, engine):
        self.db = db
        self.engine = engine
        self._checked = 0.0
        self.calendar_version = None
        self.calendar_changed = False  # set when this process reloaded the calendar; the worker clears it

    def refresh(self, force: bool = False) -> None:
        mono = time.monotonic()
        if not force and mono - self._checked < REFRESH_SECONDS:
            return
        self._checked = mono
        with self.db.read() as s:
            values = {
                r.name: (r.value or {})
                for r in s.scalars(select(ServiceSetting).where(ServiceSetting.name.in_([KEY, CALENDAR_KEY])))
            }
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


def advance_clock(service, delta: timedelta, advance: str, actor) -> float:
    """Move the shared service clock forward by ``delta`` (acceptance testing), audited; returns
    the new offset in seconds. Every process follows within ``REFRESH_SECONDS``."""
    clock = service.clock
    if not hasattr(clock, "set_offset"):
        raise Forbidden("此服务的时钟不可拨动", "this service's clock cannot be moved")
    with service.db.write() as s:
        # Start from the stored offset (another process may have moved the clock since this one
        # last looked), locked so that two concurrent advances add up.
        offset = timedelta(seconds=stored_offset(s, lock=True))
        clock.set_offset(offset)
        before = service.now()
        new_offset = offset + delta
        store_offset(s, new_offset.total_seconds())
        data = {
            "advance": advance,
            "from": before.isoformat(),
            "to": (before + delta).isoformat(),
            "offset_seconds": new_offset.total_seconds(),
        }
        record_standalone(s, before, "clock_advanced", actor.username, "admin", data, activity_name="服务时钟")
    clock.set_offset(new_offset)
    service.timers_changed()
    return new_offset.total_seconds()
