"""China's working-day calendar (statutory holidays and make-up working days, 调休).

Backs the ``workdays_after`` and ``end_of_day`` helpers of docs/MODELING.md.

Sources, in order of precedence for a date ``d``:

1. data an administrator loaded for ``d.year`` with :meth:`WorkdayCalendar.load_year`
   (``holidays``: days off, ``workdays``: make-up working days) — overrides everything else;
2. the ``chinesecalendar`` package (covers 2004–2026 in version 1.11; it raises
   ``NotImplementedError`` for other years);
3. otherwise the weekends-only rule (Mon–Fri work, Sat/Sun off). Such an answer is
   **provisional**: the State Council has not published (or nobody loaded) that year's schedule.

"Day" boundaries are China time (Asia/Shanghai, a fixed UTC+8: China has had no DST since 1991).
Inputs: aware ``datetime`` (any zone), naive ``datetime`` (taken as UTC), an ISO 8601 string
(``Z`` or an offset; no offset = UTC), or a ``date`` / ``"YYYY-MM-DD"`` string (taken as that
China-local calendar date). Outputs are aware UTC datetimes.

No Flask or SQLAlchemy here; the module-level ``DEFAULT_CALENDAR`` is what the script helpers use.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

import chinese_calendar

__all__ = [
    "CHINA_TZ",
    "DEFAULT_CALENDAR",
    "WorkdayCalendar",
    "end_of_day",
    "is_workday",
    "to_china_date",
    "to_utc",
    "workdays_after",
]

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_END_OF_DAY = time(23, 59, 59)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Years the installed package has data for (it checks the same range in _validate_date).
_PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)

# Upper bound of n, and of days scanned per call: ~10 years. Guards against an absurd n or a
# loaded year without any working day, which would otherwise loop for a long time.
MAX_WORKDAYS = 2500
_MAX_SCAN_DAYS = 3700
_MAX_CACHE = 20_000


def to_utc(value: datetime | date | str) -> datetime:
    """Parse ``value`` into an aware UTC datetime (naive = UTC; a bare date = China midnight)."""
    if isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            value = date.fromisoformat(text)
        else:
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), CHINA_TZ).astimezone(UTC)
    raise TypeError(f"expected datetime, date or ISO string, got {type(value).__name__}")


def to_china_date(value: datetime | date | str) -> date:
    """The China-local calendar date of ``value``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        return date.fromisoformat(value.strip())
    return to_utc(value).astimezone(CHINA_TZ).date()


def _end_of_china_day(d: date) -> datetime:
    return datetime.combine(d, _END_OF_DAY, CHINA_TZ).astimezone(UTC)


def _as_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        # A datetime's calendar date depends on its zone; make the caller say which day it means.
        raise TypeError(f"{what}: expected a date, not a datetime ({value!r})")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        return date.fromisoformat(value.strip())
    raise TypeError(f"{what}: expected a date or 'YYYY-MM-DD', got {value!r}")


@dataclass(frozen=True)
class _State:
    """An immutable snapshot: loaded overrides plus the memo computed from them.

    Loading a year builds a new snapshot and swaps ``WorkdayCalendar._state`` in one assignment,
    so a reader always sees one consistent version and never writes a stale answer into the
    memo of a newer version.
    """

    loaded: dict[int, dict[date, bool]]
    cache: dict[date, tuple[bool, bool]] = field(default_factory=dict)


class WorkdayCalendar:
    """Working days in mainland China (see the module docstring for the rules)."""

    def __init__(self) -> None:
        self._state = _State(loaded={})
        self._write_lock = threading.Lock()

    # ---- administration -------------------------------------------------------------------

    def load_year(self, year: int, holidays: list[date | str], workdays: list[date | str]) -> None:
        """Load (or replace) the official schedule of ``year``.

        ``holidays``: days off that fall on weekdays (statutory holidays and the days in lieu);
        ``workdays``: weekend days that are make-up working days (调休). Every other day follows
        the package (for a covered year) or the weekends-only rule. Loading a year again replaces
        its previous data. Raises ``ValueError`` for a date outside ``year`` or listed as both.
        """
        if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9998:
            raise ValueError(f"bad year: {year!r}")
        overrides: dict[date, bool] = {}
        for value in holidays:
            d = _as_date(value, "holidays")
            overrides[d] = False
        for value in workdays:
            d = _as_date(value, "workdays")
            if overrides.get(d) is False:
                raise ValueError(f"{d} is listed both as a holiday and as a working day")
            overrides[d] = True
        outside = sorted(d for d in overrides if d.year != year)
        if outside:
            raise ValueError(f"dates outside {year}: {', '.join(map(str, outside))}")
        with self._write_lock:
            loaded = dict(self._state.loaded)
            loaded[year] = overrides
            self._state = _State(loaded=loaded)

    def unload_year(self, year: int) -> None:
        """Forget the data loaded for ``year`` (back to the package / weekends-only rule)."""
        with self._write_lock:
            if year in self._state.loaded:
                loaded = dict(self._state.loaded)
                del loaded[year]
                self._state = _State(loaded=loaded)

    def loaded_years(self) -> list[int]:
        return sorted(self._state.loaded)

    def covered_years(self) -> list[int]:
        """Years with an authoritative schedule (package data or loaded data), ascending."""
        return sorted(set(_PACKAGE_YEARS) | set(self._state.loaded))

    # ---- queries --------------------------------------------------------------------------

    def is_workday(self, d: date | datetime | str) -> tuple[bool, bool]:
        """``(is_workday, provisional)`` for the China-local date of ``d``."""
        return self._lookup(self._state, to_china_date(d))

    @staticmethod
    def _lookup(state: _State, d: date) -> tuple[bool, bool]:
        hit = state.cache.get(d)
        if hit is not None:
            return hit
        overrides = state.loaded.get(d.year)
        if overrides is not None and d in overrides:
            result = (overrides[d], False)
        elif d.year in _PACKAGE_YEARS:
            try:
                result = (bool(chinese_calendar.is_workday(d)), False)
            except NotImplementedError:  # defensive: the package's range is checked above
                result = (d.weekday() < 5, overrides is None)
        else:
            # Weekends-only rule; authoritative only if an admin loaded this year.
            result = (d.weekday() < 5, overrides is None)
        if len(state.cache) >= _MAX_CACHE:
            state.cache.clear()
        state.cache[d] = result
        return result

    def end_of_day(self, dt: datetime | date | str) -> datetime:
        """23:59:59 China time of ``dt``'s China-local date, as an aware UTC datetime."""
        return _end_of_china_day(to_china_date(dt))

    def workdays_after(self, start: datetime | date | str, n: int) -> tuple[datetime, bool]:
        """End (23:59:59 China time, in UTC) of the ``n``-th working day after ``start``'s date.

        Counting starts the day after ``start``'s China-local date, whatever the time of day
        and whether or not that date is itself a working day. ``n == 0`` means "by the end of
        today if today is a working day, else by the end of the next working day".
        The second value is True when any day examined (including skipped days off) was
        decided by the provisional weekends-only rule.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if not 0 <= n <= MAX_WORKDAYS:
            raise ValueError(f"n must be between 0 and {MAX_WORKDAYS}, got {n}")
        state = self._state
        day = to_china_date(start)
        provisional = False
        if n == 0:
            ok, prov = self._lookup(state, day)
            if ok:
                return _end_of_china_day(day), prov
            provisional = prov
            n = 1
        counted = 0
        try:
            for _ in range(_MAX_SCAN_DAYS):
                day += timedelta(days=1)
                ok, prov = self._lookup(state, day)
                provisional = provisional or prov
                if ok:
                    counted += 1
                    if counted == n:
                        return _end_of_china_day(day), provisional
        except OverflowError:
            raise ValueError("date out of range") from None
        raise ValueError(f"fewer than {n} working days within {_MAX_SCAN_DAYS} days of {start}")


DEFAULT_CALENDAR = WorkdayCalendar()


def is_workday(d: date | datetime | str) -> tuple[bool, bool]:
    return DEFAULT_CALENDAR.is_workday(d)


def workdays_after(start: datetime | date | str, n: int) -> tuple[datetime, bool]:
    return DEFAULT_CALENDAR.workdays_after(start, n)


def end_of_day(dt: datetime | date | str) -> datetime:
    return DEFAULT_CALENDAR.end_of_day(dt)
