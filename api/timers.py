"""Where timers fire: the timer worker.

Due timers are found through the indexed (status, due_at) columns. Each instance with a due
timer is then advanced in its own transaction under the instance's row lock, taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several workers on several hosts share the work and
never fire one timer twice: the timer row changes to ``fired`` in the same commit as the state,
tasks and audit events. A worker killed mid-firing commits nothing; the timer stays ``waiting``
and fires later on another worker.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from .models import Instance, Timer

log = logging.getLogger("siji.timers")

MAX_SLEEP = 0.5       # seconds; bounds the lag when another process arms an earlier timer
BATCH = 100


class TimerWorker:
    def __init__(self, service, name: str = "worker"):
        self.service = service
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        service.on_timers_changed = self._wake.set

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def due_instances(self, limit: int = BATCH) -> list[int]:
        now = self.service.now()
        with self.service.db.read() as s:
            rows = s.execute(select(Timer.instance_id, func.min(Timer.due_at).label("due"))
                             .where(Timer.status == "waiting", Timer.due_at <= now)
                             .group_by(Timer.instance_id).order_by("due").limit(limit)).all()
        return [r[0] for r in rows]

    def run_once(self, limit: int = BATCH) -> int:
        """Fire every timer due now (up to ``limit`` instances). Returns how many fired."""
        fired = 0
        for instance_id in self.due_instances(limit):
            if self._stop.is_set():
                break
            try:
                fired += self.service.fire_timers(instance_id, actor_name="timer", skip_locked=True)
            except Exception:  # one broken instance must not stop the others
                log.exception("firing timers of instance %s failed", instance_id)
        return fired

    def next_due_in(self) -> float:
        with self.service.db.read() as s:
            nxt = s.scalar(select(func.min(Timer.due_at)).where(Timer.status == "waiting"))
        if nxt is None:
            return MAX_SLEEP
        return max(0.0, (nxt - self.service.now()).total_seconds())

    def run_forever(self) -> None:
        log.info("timer worker %s started", self.name)
        while not self._stop.is_set():
            sync = getattr(self.service, "clock_sync", None)
            try:
                if sync is not None:
                    sync.refresh()
                fired = self.run_once()
                if fired:
                    continue        # a backlog: keep draining, one short transaction at a time
                # never spin: a due row the engine did not fire (held by a command) waits a moment
                wait = max(min(self.next_due_in(), MAX_SLEEP), 0.05)
            except Exception as e:  # database away: back off, keep the worker alive
                log.warning("timer worker: %s", e.__class__.__name__)
                wait = 1.0
            self._wake.wait(wait)
            self._wake.clear()
        log.info("timer worker %s stopped", self.name)

    def start_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.run_forever, name=f"siji-{self.name}", daemon=True)
        t.start()
        return t
