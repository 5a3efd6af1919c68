from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest

from engine.workdays import CHINA_TZ, DEFAULT_CALENDAR, WorkdayCalendar, end_of_day, workdays_after

UTC = UTC


@pytest.fixture
def cal():
    return WorkdayCalendar()


def china(y, m, d, hh=23, mm=59, ss=59):
    return datetime(y, m, d, hh, mm, ss, tzinfo=CHINA_TZ)


def test_package_facts_national_day_2025():
    # The facts the next test relies on, checked against the package itself.
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # make-up Sunday
    assert not chinese_calendar.is_workday(date(2025, 9, 27))
    assert all(not chinese_calendar.is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # make-up Saturday
    assert date(2025, 10, 11).weekday() == 5


def test_five_workdays_after_national_day_2025(cal):
    due, provisional = cal.workdays_after(datetime(2025, 9, 28, 2, 0, tzinfo=CHINA_TZ), 5)
    # 9-29, 9-30, (10-1..10-8 off), 10-9, 10-10, 10-11 (make-up Saturday)
    assert due == china(2025, 10, 11)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due.isoformat() == "2025-10-11T15:59:59+00:00"
    assert provisional is False


def test_spring_festival_2026(cal):
    # Fri 2026-02-13 -> Sat 02-14 (make-up day), then 02-15..02-23 off, then 24, 25, 26, 27.
    due, provisional = cal.workdays_after("2026-02-13T01:00:00Z", 5)
    assert due == china(2026, 2, 27)
    assert not provisional
    assert cal.is_workday(date(2026, 2, 14)) == (True, False)
    assert cal.is_workday(date(2026, 2, 23)) == (False, False)


def test_weekend_skipped(cal):
    # Fri 2025-06-06 + 1 working day = Mon 2025-06-09; + 3 = Wed 06-11.
    assert cal.workdays_after(datetime(2025, 6, 6, 3, tzinfo=UTC), 1) == (china(2025, 6, 9), False)
    assert cal.workdays_after(datetime(2025, 6, 6, 3, tzinfo=UTC), 3) == (china(2025, 6, 11), False)
    # Starting on a Saturday counts from Monday.
    assert cal.workdays_after(date(2025, 6, 7), 1) == (china(2025, 6, 9), False)


def test_n_zero(cal):
    # a working day: end of that day
    assert cal.workdays_after(date(2025, 6, 6), 0) == (china(2025, 6, 6), False)
    # a day off: end of the next working day
    assert cal.workdays_after(date(2025, 10, 1), 0) == (china(2025, 10, 9), False)
    with pytest.raises(ValueError):
        cal.workdays_after(date(2025, 6, 6), -1)
    with pytest.raises(TypeError):
        cal.workdays_after(date(2025, 6, 6), 1.5)


def test_timezone_start_is_china_date(cal):
    # 2025-09-27T17:00Z is 2025-09-28 01:00 in China, so counting starts on 09-29.
    due, _ = cal.workdays_after("2025-09-27T17:00:00Z", 1)
    assert due == china(2025, 9, 29)
    # one hour earlier it is still 09-27 in China: the first working day after is 09-28
    due, _ = cal.workdays_after("2025-09-27T15:59:00Z", 1)
    assert due == china(2025, 9, 28)
    # naive datetimes are UTC
    assert cal.workdays_after(datetime(2025, 9, 27, 17), 1)[0] == china(2025, 9, 29)
    # other offsets
    assert cal.workdays_after("2025-09-28T01:00:00+08:00", 1)[0] == china(2025, 9, 29)


def test_end_of_day(cal):
    assert cal.end_of_day("2025-09-27T17:00:00Z") == datetime(2025, 9, 28, 15, 59, 59, tzinfo=UTC)
    assert cal.end_of_day(datetime(2025, 9, 27, 15, 0, tzinfo=UTC)) == datetime(2025, 9, 27, 15, 59, 59, tzinfo=UTC)
    assert cal.end_of_day(date(2025, 1, 1)) == china(2025, 1, 1)
    assert end_of_day("2025-01-01") == china(2025, 1, 1)
    with pytest.raises(ValueError):
        cal.end_of_day("not a date")


def test_2027_provisional_then_loaded(cal):
    start = datetime(2026, 12, 30, 2, tzinfo=UTC)  # Wed 2026-12-30 in China
    due, provisional = cal.workdays_after(start, 2)
    # weekends-only: Thu 12-31 (package), Fri 2027-01-01 (provisional)
    assert due == china(2027, 1, 1)
    assert provisional is True
    assert cal.is_workday(date(2027, 1, 1)) == (True, True)
    assert 2027 not in cal.covered_years()

    cal.load_year(2027, holidays=[date(2027, 1, 1)], workdays=[date(2027, 1, 2)])
    assert 2027 in cal.covered_years()
    assert cal.is_workday(date(2027, 1, 1)) == (False, False)
    assert cal.is_workday(date(2027, 1, 2)) == (True, False)  # make-up Saturday
    assert cal.is_workday(date(2027, 1, 4)) == (True, False)  # ordinary Monday, now authoritative
    due2, provisional2 = cal.workdays_after(start, 2)
    assert due2 == china(2027, 1, 2)
    assert due2 != due
    assert provisional2 is False

    # a deadline that runs past the loaded year into 2028 is provisional again
    assert cal.workdays_after(date(2027, 12, 30), 3)[1] is True


def test_load_year_overrides_covered_year_and_validates(cal):
    assert cal.is_workday(date(2025, 6, 6)) == (True, False)
    cal.load_year(2025, holidays=["2025-06-06"], workdays=[])
    assert cal.is_workday(date(2025, 6, 6)) == (False, False)
    # other 2025 days still follow the package
    assert cal.is_workday(date(2025, 10, 11)) == (True, False)
    cal.unload_year(2025)
    assert cal.is_workday(date(2025, 6, 6)) == (True, False)

    with pytest.raises(ValueError):
        cal.load_year(2027, holidays=[date(2028, 1, 1)], workdays=[])
    with pytest.raises(ValueError):
        cal.load_year(2027, holidays=[date(2027, 1, 2)], workdays=[date(2027, 1, 2)])
    with pytest.raises(TypeError):
        cal.load_year(2027, holidays=[datetime(2027, 1, 1)], workdays=[])


def test_calendars_are_independent():
    a, b = WorkdayCalendar(), WorkdayCalendar()
    a.load_year(2027, holidays=[date(2027, 1, 1)], workdays=[])
    assert a.is_workday(date(2027, 1, 1)) == (False, False)
    assert b.is_workday(date(2027, 1, 1)) == (True, True)
    assert DEFAULT_CALENDAR.is_workday(date(2027, 1, 1)) == (True, True)
    assert workdays_after(date(2025, 9, 28), 5)[0] == china(2025, 10, 11)


def test_no_working_day_guard(cal):
    every_weekday = [date(2030, 1, 1) + timedelta(days=i) for i in range(365)]
    cal.load_year(2030, holidays=[d for d in every_weekday if d.weekday() < 5], workdays=[])
    due, _ = cal.workdays_after(date(2029, 12, 31), 1)
    assert due == china(2031, 1, 1)  # skips the whole of 2030
    with pytest.raises(ValueError):
        cal.workdays_after(date(2025, 1, 1), 100_000)


def test_threads_see_consistent_data(cal):
    errors = []

    def reader():
        for _ in range(200):
            due, prov = cal.workdays_after(date(2026, 12, 31), 1)
            if (due, prov) not in {(china(2027, 1, 1), True), (china(2027, 1, 4), False)}:
                errors.append((due, prov))

    def writer():
        for _ in range(50):
            cal.load_year(2027, holidays=[date(2027, 1, 1)], workdays=[])
            cal.unload_year(2027)

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
