"""The one place that builds the service: used by the app factory, the CLI, the timer worker,
the benchmarks and the tests."""

from __future__ import annotations

from engine.clock import Clock, SystemClock
from engine.service.calendar_years import load_calendar_years
from engine.service.clock_sync import ClockSync
from engine.service.commands import Service
from engine.settings import Settings
from engine.store.db import Database
from engine.workdays import WorkdayCalendar
from engine.workflow.runtime import Engine


def build_service(
    settings: Settings, clock: Clock | None = None, migrate: bool = False, shared_clock: bool | None = None
) -> Service:
    """A service on ``settings``' database.

    ``migrate``: create or upgrade the schema first (``siji migrate``, ``siji serve`` before any
    worker starts, tests); HTTP workers never migrate. ``clock``: the service clock (default the
    system clock). ``shared_clock``: follow the clock offset and calendar version shared through
    the database (default: when the clock is the system clock, as in every real process).
    """
    db = Database(settings.db_url, pool_size=settings.db_pool)
    if migrate:
        from engine.store.migrate import upgrade  # Alembic: only the processes that migrate load it

        upgrade(db)
    clock = clock or SystemClock()
    engine = Engine(clock=clock, calendar=WorkdayCalendar())
    if shared_clock is None:
        shared_clock = isinstance(clock, SystemClock)
    sync = ClockSync(db, engine) if shared_clock else None
    service = Service(db, engine, clock_sync=sync, settings=settings)
    if sync is not None:
        sync.refresh(force=True)
    load_calendar_years(db, engine.calendar)
    return service
