"""Working time on the service's own calendar (engine/workdays.py: China's statutory holidays and
调休 make-up working days) within office hours: the simulator's (its settings file) and the live
reports' (``SIJI_OFFICE_HOURS``), so a lead time in working days means the same in both.

Times are POSIX seconds (floats): the simulator's event loop compares and adds millions of them,
and only the engine's clock needs ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.workdays import WorkdayCalendar

CHINA_OFFSET = 8 * 3600
DAY = 86400.0
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MAX_SCAN_DAYS = 3700


def to_epoch(dt: datetime) -> float:
    return dt.timestamp()


def from_epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class WorkingTime:
    """Office hours ``shifts`` ((start, end) minutes after China midnight) on working days."""

    def __init__(self, calendar: WorkdayCalendar, shifts: list[tuple[int, int]]):
        self.calendar = calendar
        self.shifts = sorted(shifts)
        self.seconds_per_day = sum(e - s for s, e in self.shifts) * 60.0
        self._days: dict[int, tuple[tuple[float, float], ...]] = {}

    def _intervals(self, day: int) -> tuple[tuple[float, float], ...]:
        """Working intervals of China day number ``day`` (days since 1970-01-01), POSIX seconds."""
        hit = self._days.get(day)
        if hit is None:
            d = date.fromordinal(day + _EPOCH_ORDINAL)
            base = day * DAY - CHINA_OFFSET
            hit = (
                tuple((base + s * 60.0, base + e * 60.0) for s, e in self.shifts)
                if self.calendar.is_workday(d)[0]
                else ()
            )
            self._days[day] = hit
        return hit

    @staticmethod
    def day_of(t: float) -> int:
        return int((t + CHINA_OFFSET) // DAY)

    def add(self, t: float, seconds: float) -> float:
        """The instant at which ``seconds`` of working time started at ``t`` are done."""
        if seconds <= 0:
            return t
        day = self.day_of(t)
        for _ in range(MAX_SCAN_DAYS):
            for s, e in self._intervals(day):
                if e <= t:
                    continue
                st = s if s > t else t
                if seconds <= e - st:
                    return st + seconds
                seconds -= e - st
            day += 1
        raise ValueError("no working time within ~10 years")

    def next_working(self, t: float) -> float:
        """``t`` itself when inside office hours, else the start of the next working interval."""
        day = self.day_of(t)
        for _ in range(MAX_SCAN_DAYS):
            for s, e in self._intervals(day):
                if e > t:
                    return s if s > t else t
            day += 1
        raise ValueError("no working time within ~10 years")

    def between(self, a: float, b: float) -> float:
        """Working seconds in [a, b)."""
        if b <= a:
            return 0.0
        total = 0.0
        for day in range(self.day_of(a), self.day_of(b) + 1):
            for s, e in self._intervals(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
        return total

    def working_days(self, a: float, b: float) -> float:
        """Working time between a and b in working days (office hours of one day = 1)."""
        return self.between(a, b) / self.seconds_per_day if self.seconds_per_day else 0.0


class CalendarTime:
    """Round-the-clock time: for roles that do not keep office hours (settings ``working_time: false``)."""

    @staticmethod
    def add(t: float, seconds: float) -> float:
        return t + max(seconds, 0.0)

    @staticmethod
    def next_working(t: float) -> float:
        return t
