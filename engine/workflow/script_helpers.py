"""The helpers diagram expressions may call (days_after, workdays_after, end_of_day,
catalogue_item, setting …), on the engine's clock and working-day calendar. A working-day deadline
in a year the calendar does not know yet is provisional: it is collected for the caller, which
recomputes it once the year is loaded."""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from engine import clock as clockmod
from engine.workdays import WorkdayCalendar

UTC = UTC

_provisional: contextvars.ContextVar[list | None] = contextvars.ContextVar("siji_provisional", default=None)


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def script_helpers(calendar: WorkdayCalendar, resources: dict) -> dict[str, Callable]:
    """The functions every diagram expression may call (docs/MODELING.md): time, working days,
    the catalogue and the flow's settings."""
    settings = resources.get("settings") or {}
    catalogue = {i["code"]: i for i in ((resources.get("catalogue") or {}).get("items") or [])}
    cal = calendar

    def now() -> str:
        return clockmod.now().isoformat()

    def days_after(n, start=None) -> str:
        base = _parse_time(start) if start else clockmod.now()
        return (base + timedelta(days=float(n))).isoformat()

    def hours_after(n, start=None) -> str:
        base = _parse_time(start) if start else clockmod.now()
        return (base + timedelta(hours=float(n))).isoformat()

    def workdays_after(start, n) -> str:
        base = _parse_time(start) if start else clockmod.now()
        when, provisional = cal.workdays_after(base, int(n))
        if provisional:
            sink = _provisional.get()
            if sink is not None:
                sink.append({"due": when.isoformat(), "start": base.isoformat(), "n": int(n)})
        return when.isoformat()

    def end_of_day(start=None) -> str:
        return cal.end_of_day(_parse_time(start) if start else clockmod.now()).isoformat()

    def catalogue_item(code):
        item = catalogue.get(code)
        if item is None:
            raise ValueError(f"目录中没有事项 {code!r} / no catalogue item {code!r}")
        return copy.deepcopy(item)

    def setting(name, default=None):
        return copy.deepcopy(settings.get(name, default))

    return {
        "now": now,
        "days_after": days_after,
        "hours_after": hours_after,
        "workdays_after": workdays_after,
        "end_of_day": end_of_day,
        "catalogue_item": catalogue_item,
        "setting": setting,
    }


class _collect:
    def __enter__(self):
        self.items: list = []
        self.token = _provisional.set(self.items)
        return self.items

    def __exit__(self, *exc):
        _provisional.reset(self.token)
