"""Loading a year's holidays and make-up working days, and recomputing provisional deadlines.

The years an admin loaded live in ``calendar_years``; every process loads them at start and again
whenever the shared calendar version changes (``api/clocksync.py``)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.store.models import CalendarYear


def load_calendar_years(service) -> None:
    with service.db.read() as s:
        rows = [(row.year, list(row.holidays), list(row.workdays)) for row in s.scalars(select(CalendarYear))]
    for year, holidays, workdays in rows:
        service.engine.calendar.load_year(year, [date.fromisoformat(d) for d in holidays],
                                          [date.fromisoformat(d) for d in workdays])


def store_year(service, year: int, holidays: list[date], workdays: list[date], actor: str) -> int:
    """Persist a year, load it into this process's calendar, tell the other processes (the shared
    calendar version) and recompute provisional timers. Returns how many timers were recomputed.
    Raises ValueError (nothing stored) for inconsistent data."""
    from engine.service.clock_sync import bump_calendar_version
    from engine.service.deadlines import recompute_provisional
    from engine.workdays import WorkdayCalendar
    WorkdayCalendar().load_year(year, holidays, workdays)   # validate before storing anything
    now = service.now()
    with service.db.write() as s:
        row = s.get(CalendarYear, year)
        values = dict(holidays=sorted(d.isoformat() for d in holidays),
                      workdays=sorted(d.isoformat() for d in workdays), loaded_at=now, loaded_by=actor)
        if row is None:
            s.add(CalendarYear(year=year, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        version = bump_calendar_version(s)
    service.engine.calendar.load_year(year, holidays, workdays)
    sync = getattr(service, "clock_sync", None)
    if sync is not None and sync._calendar_version is not None and version == sync._calendar_version + 1:
        sync._calendar_version = version     # this process is up to date already
    return recompute_provisional(service, year, actor)
