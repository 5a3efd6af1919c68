"""Loading a year's holidays and make-up working days, and recomputing provisional deadlines."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from .models import CalendarYear


def load_calendar_years(service) -> None:
    with service.db.read() as s:
        for row in s.scalars(select(CalendarYear)):
            service.engine.calendar.load_year(row.year, [date.fromisoformat(d) for d in row.holidays],
                                              [date.fromisoformat(d) for d in row.workdays])


def store_year(service, year: int, holidays: list[date], workdays: list[date], actor: str) -> int:
    """Persist a year, load it into this process's calendar and recompute provisional timers.
    Returns how many timers were recomputed."""
    from .recompute import recompute_provisional
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
    service.engine.calendar.load_year(year, holidays, workdays)
    return recompute_provisional(service, year, actor)
