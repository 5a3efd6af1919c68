"""Loading a year's holidays and make-up working days, and recomputing provisional deadlines.

The years an admin loaded live in ``calendar_years``; every process loads them at start and again
whenever the shared calendar version changes (``engine/service/clock_sync.py``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.service.deadlines import recompute_provisional
from engine.store.models import CalendarYear, ServiceSetting
from engine.workdays import WorkdayCalendar

CALENDAR_KEY = "calendar_version"


def load_calendar_years(db, calendar: WorkdayCalendar) -> None:
    with db.read() as s:
        rows = [(row.year, list(row.holidays), list(row.workdays)) for row in s.scalars(select(CalendarYear))]
    for year, holidays, workdays in rows:
        calendar.load_year(year, [date.fromisoformat(d) for d in holidays], [date.fromisoformat(d) for d in workdays])


def bump_calendar_version(session) -> int:
    row = session.scalars(select(ServiceSetting).where(ServiceSetting.name == CALENDAR_KEY).with_for_update()).first()
    if row is None:
        session.add(ServiceSetting(name=CALENDAR_KEY, value={"version": 1}))
        return 1
    version = int((row.value or {}).get("version", 0)) + 1
    row.value = {"version": version}
    return version


def store_year(service, year: int, holidays: list[date], workdays: list[date], actor: str) -> int:
    """Persist a year, load it into this process's calendar, tell the other processes (the shared
    calendar version) and recompute provisional timers. Returns how many timers were recomputed.
    Raises ValueError (nothing stored) for inconsistent data."""
    WorkdayCalendar().load_year(year, holidays, workdays)  # validate before storing anything
    now = service.now()
    with service.db.write() as s:
        row = s.get(CalendarYear, year)
        values = dict(
            holidays=sorted(d.isoformat() for d in holidays),
            workdays=sorted(d.isoformat() for d in workdays),
            loaded_at=now,
            loaded_by=actor,
        )
        if row is None:
            s.add(CalendarYear(year=year, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        version = bump_calendar_version(s)
    service.engine.calendar.load_year(year, holidays, workdays)
    sync = service.clock_sync
    if sync is not None and sync.calendar_version is not None and version == sync.calendar_version + 1:
        sync.calendar_version = version  # this process is up to date already
    return recompute_provisional(service, year, actor)
