"""Where timers fire: the timer worker.

Due timers are found through the indexed (status, due_at) columns. Each instance with a due
timer is then advanced in its own transaction under the instance's row lock, taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several workers on several hosts share the work and
never fire one timer twice: under the lock the worker re-checks that a timer is still due (another
worker may have fired it since the list was read), and the timer row changes to ``fired`` in the
same commit as the state, tasks and audit events. A worker killed mid-firing commits nothing; the
timer stays ``waiting`` and fires later on another worker. On SQLite one worker is enough (writers
are serialized by ``BEGIN IMMEDIATE``; several would still fire each timer once).

Scheduling: the worker sleeps until the next due time, at most ``MAX_SLEEP`` seconds (which bounds
the delay when another process arms an earlier timer or moves the shared clock); a command in the
same process wakes it at once through ``Service.on_timers_changed``. A backlog drains one instance
per transaction, so commands on other instances are never held behind it. An instance whose timers
are due but did not fire (its engine step failed and recorded an incident, or a command held its
lock) is retried with a growing delay instead of in a tight loop.

Each pass also runs the deadline watch (engine/timers/deadlines.py): reminders, overdue marks and
escalations of tasks whose due time comes from their flow's settings rather than a timer.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, select

from engine.metrics import TIMER_LAG, TIMERS_FIRED
from engine.store.models import Timer
from engine.timers.deadlines import next_watch_in, watch_deadlines

log = logging.getLogger("siji.timers")

MAX_SLEEP = 0.5  # seconds; bounds the lag when another process arms an earlier timer
MIN_SLEEP = 0.002  # SpiffWorkflow fires strictly after the due time: look again a moment later
BATCH = 100
RETRY_FIRST = 0.25  # seconds before retrying an instance whose due timers did not fire
RETRY_MAX = 300.0
SWEEP_SECONDS = 300.0  # how often provisional working-day deadlines are checked against the calendar
# SQLite has one write lock and no queue: a command waiting for it polls (every 100 ms at worst)
# and would keep missing the short gaps between a draining worker's transactions. Pausing after
# each firing leaves the lock free often enough for commands to get through during a backlog.
SQLITE_PAUSE = 0.01


class TimerWorker:
    def __init__(self, service, name: str = "worker"):
        self.service = service
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._retry: dict[int, tuple[float, float]] = {}  # instance id -> (monotonic retry time, delay)
        # Retry back-off runs on the machine's monotonic clock, not the service clock (a case
        # failing every pass must not spin the loop whatever the business time); tests pin it.
        self.monotonic = time.monotonic
        self._last_sweep = 0.0
        self._looked_until = None  # the service time the last pass looked for due timers
        self.batch_full = False
        self.watched = 0  # tasks the deadline watch handled in the last pass
        self._due_at: dict = {}  # instance id -> earliest due time the last look saw
        service.on_timers_changed(self._wake.set)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # ------------------------------------------------------------------ one pass
    def due_instances(self, limit: int = BATCH, skip: set[int] | frozenset = frozenset()) -> list[int]:
        """Instances with a timer due now, earliest first (without those in ``skip``)."""
        now = self.service.now()
        self._looked_until = now
        with self.service.db.read() as s:
            rows = s.execute(
                select(Timer.instance_id, func.min(Timer.due_at).label("due"))
                .where(Timer.status == "waiting", Timer.due_at < now)
                .group_by(Timer.instance_id)
                .order_by("due")
                .limit(limit + min(len(skip), 1000))
            ).all()
        self._due_at = {r[0]: r[1] for r in rows}
        return [r[0] for r in rows if r[0] not in skip][:limit]

    def run_once(self, limit: int = BATCH, backoff: bool = False, pause: float = 0.0) -> int:
        """Fire every timer due now (up to ``limit`` instances). Returns how many fired.

        ``backoff``: leave out instances whose due timers did not fire lately (the long-running
        loop uses it; a direct call, as in tests, tries every due instance). ``pause``: seconds to
        wait after each firing (the loop uses it on SQLite, see ``SQLITE_PAUSE``)."""
        skip: set[int] = set()
        if backoff and self._retry:
            mono = self.monotonic()
            for iid, (at, _delay) in list(self._retry.items()):
                if at > mono:
                    skip.add(iid)
        ids = self.due_instances(limit, skip)
        self.batch_full = len(ids) >= limit
        fired = 0
        for instance_id in ids:
            if self._stop.is_set():
                break
            n = 0
            try:
                n = self.service.fire_timers(instance_id, actor_name="timer", skip_locked=True, only_if_due=True)
            except Exception:  # one broken instance must not stop the others
                log.exception("firing timers of instance %s failed", instance_id)
            if pause:
                self._stop.wait(pause)
            if n:
                fired += n
                self._retry.pop(instance_id, None)
                TIMERS_FIRED.inc(n)
                due = self._due_at.get(instance_id)
                if due is not None:
                    TIMER_LAG.observe(max(0.0, (self.service.now() - due).total_seconds()))
            elif backoff:
                # Locked by a command or another worker, fired meanwhile by another worker, or its
                # engine step failed (an incident was recorded): look again later, not at once.
                _at, delay = self._retry.get(instance_id, (0.0, RETRY_FIRST / 2))
                delay = min(delay * 2, RETRY_MAX)
                self._retry[instance_id] = (self.monotonic() + delay, delay)
        # after the timers: a task a timer just made or finished is watched in its new state
        self.watched = watch_deadlines(self.service, limit) if not self._stop.is_set() else 0
        return fired

    def next_due_in(self) -> float:
        """Seconds until the next timer the last pass did not see falls due (0 when one fell due
        during the pass; ``MAX_SLEEP`` when none is waiting)."""
        now = self.service.now()
        after = min(self._looked_until or now, now)
        with self.service.db.read() as s:
            nxt = s.scalar(select(func.min(Timer.due_at)).where(Timer.status == "waiting", Timer.due_at >= after))
        watch = next_watch_in(self.service)
        if nxt is None:
            return MAX_SLEEP if watch is None else watch
        due = max(0.0, (nxt - now).total_seconds())
        return due if watch is None else min(due, watch)

    def _sleep_time(self) -> float:
        wait = self.next_due_in()
        if self._retry:
            mono = self.monotonic()
            for iid, (at, _d) in list(self._retry.items()):
                if at <= mono - RETRY_MAX:  # long past: forget it
                    self._retry.pop(iid, None)
            pending = [at - mono for at, _d in self._retry.values() if at > mono]
            if pending:
                wait = min(wait, min(pending))
        return min(max(wait, MIN_SLEEP), MAX_SLEEP)

    # ------------------------------------------------------------------ provisional deadlines
    def sweep_provisional(self) -> int:
        """Recompute provisional working-day deadlines the calendar now knows better (a year
        loaded by another process, or a deadline armed there before it saw the year)."""
        from engine.service.deadlines import recompute_provisional

        self._last_sweep = time.monotonic()
        return recompute_provisional(self.service, None, "system")

    # ------------------------------------------------------------------ the loop
    def run_forever(self) -> None:
        log.info("timer worker %s started", self.name)
        while not self._stop.is_set():
            sync = self.service.clock_sync
            try:
                if sync is not None:
                    sync.refresh()
                    if sync.calendar_changed:
                        sync.calendar_changed = False
                        self.sweep_provisional()
                if time.monotonic() - self._last_sweep > SWEEP_SECONDS:
                    self.sweep_provisional()
                fired = self.run_once(backoff=True, pause=0.0 if self.service.db.is_postgres else SQLITE_PAUSE)
                if fired or self.batch_full or self.watched >= BATCH:
                    continue  # a backlog: keep draining, one short transaction at a time
                wait = self._sleep_time()
            except Exception as e:  # database away: back off, keep the worker alive
                log.warning("timer worker: %s: %s", e.__class__.__name__, e)
                wait = 1.0
            self._wake.wait(wait)
            self._wake.clear()
        log.info("timer worker %s stopped", self.name)

    def start_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.run_forever, name=f"siji-{self.name}", daemon=True)
        t.start()
        return t
