"""Timer workers as separate processes (`python -m engine.cli.main worker`) on one database: each timer
fires exactly once with several workers, a worker killed with SIGKILL in the middle of a firing
leaves nothing half-done, a running worker fires on time and follows the shared service clock.

These use the real clock with due times in the past or a few seconds ahead and bounded waits.
Instances are bulk-created by cloning one real started instance (tools/bench-timers'
``clone_instances``: fresh task ids, own due time in the engine state and timer row, own audit chain).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, db_url_for
from sqlalchemy import func, select

UTC = UTC


def _load_bench():
    loader = importlib.machinery.SourceFileLoader("bench_timers", str(ROOT / "tools" / "bench_timers.py"))
    spec = importlib.util.spec_from_loader("bench_timers", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture
def db_url(backend, tmp_path, request):
    return db_url_for(backend, tmp_path, request)


@pytest.fixture
def procs():
    started: list = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


from fault_env import fault_env  # noqa: E402


def spawn(url, tmp_path: Path, name: str, procs: list, **env):
    log = tmp_path / f"{name}.log"
    p = bench.spawn_worker(url, log, fault_env({}, **env) if env else None)
    procs.append(p)
    return p, log


def logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(tmp_path.glob("*.log")))


def wait_for(cond, timeout: float, what: str, tmp_path: Path, interval: float = 0.1, detail=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    extra = detail() if detail else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what} {extra}\n{logs(tmp_path)}")


def due_backlog(url, n: int):
    """A service whose clock is 10 minutes behind, the tm_one process, and ``n`` instances whose
    timers fell due between 9 and 8 minutes ago. Returns (service, instance ids)."""
    from engine.clock import FixedClock

    svc, actor = bench.make_service(url, clock=FixedClock(datetime.now(UTC) - timedelta(minutes=10)))
    first = svc.start(actor, "tm_one", None, {"delay_seconds": 60})
    dues = [datetime.now(UTC) - timedelta(minutes=9) + timedelta(milliseconds=20 * i) for i in range(n - 1)]
    return svc, [first] + bench.clone_instances(svc, first, dues)


def check_exactly_once(svc, ids: list[int]) -> dict:
    """Every timer of ``ids`` fired once: one timer_fired audit event per timer, status fired,
    instance completed, audit chain intact, no incident."""
    from engine.audit.chain import verify
    from engine.store.models import AuditEvent, Incident, Instance, Timer

    with svc.db.read() as s:
        timers = s.execute(select(Timer.id, Timer.instance_id, Timer.status).where(Timer.instance_id.in_(ids))).all()
        per_timer = Counter(
            d.get("timer_id")
            for (d,) in s.execute(
                select(AuditEvent.data).where(AuditEvent.instance_id.in_(ids), AuditEvent.transition == "timer_fired")
            )
        )
        statuses = Counter(st for (st,) in s.execute(select(Instance.status).where(Instance.id.in_(ids))))
        incidents = s.scalar(select(func.count(Incident.id)).where(Incident.instance_id.in_(ids)))
        chains: dict[int, list] = {}
        for ev in s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id.in_(ids)).order_by(AuditEvent.instance_id, AuditEvent.seq)
        ):
            chains.setdefault(ev.instance_id, []).append(ev)
        heads = dict(s.execute(select(Instance.id, Instance.last_hash).where(Instance.id.in_(ids))).all())
    assert len(timers) == len(ids)
    assert Counter(st for _, _, st in timers) == Counter({"fired": len(ids)})
    assert set(per_timer) == {t for t, _, _ in timers}, "a timer without its timer_fired event"
    assert set(per_timer.values()) == {1}, f"fired more than once: {[t for t, c in per_timer.items() if c > 1][:10]}"
    assert statuses == Counter({"completed": len(ids)})
    assert incidents == 0
    broken = [iid for iid, evs in chains.items() if not verify(evs)[0] or evs[-1].hash != heads[iid]]
    assert broken == [] and len(chains) == len(ids)
    return per_timer


def waiting_count(svc, ids) -> int:
    from engine.store.models import Timer

    with svc.db.read() as s:
        return s.scalar(select(func.count(Timer.id)).where(Timer.instance_id.in_(ids), Timer.status == "waiting"))


def test_worker_processes_fire_each_timer_exactly_once(backend, db_url, tmp_path, procs):
    # PostgreSQL: three workers sharing 2,000 due timers through FOR UPDATE SKIP LOCKED.
    # SQLite (one writer at a time; one worker is the supported setup): two workers, 300 timers.
    n, workers = (2000, 3) if backend == "postgres" else (300, 2)
    svc, ids = due_backlog(db_url, n)
    try:
        assert waiting_count(svc, ids) == n
        t0 = time.monotonic()
        for i in range(workers):
            spawn(db_url, tmp_path, f"worker{i}", procs)
        # bounded; ~20 s on an idle 2-core machine, several times that when it is shared
        wait_for(
            lambda: waiting_count(svc, ids) == 0,
            300,
            f"{n} timers to fire",
            tmp_path,
            0.25,
            lambda: f"{waiting_count(svc, ids)} of {n} still waiting",
        )
        elapsed = time.monotonic() - t0
        bench.stop_workers(procs)
        check_exactly_once(svc, ids)
        print(f"{backend}: {n} timers fired once each by {workers} worker processes in {elapsed:.1f} s")
    finally:
        svc.db.dispose()


def test_worker_killed_mid_firing_fires_it_once_later(backend, db_url, tmp_path, procs):
    from engine.store.models import AuditEvent, Instance, Timer

    svc, ids = due_backlog(db_url, 5)
    marker = tmp_path / "paused"
    try:
        # worker A stalls inside its first firing, after the engine step and the flush, before COMMIT
        a, _ = spawn(db_url, tmp_path, "a", procs, SIJI_TEST_PAUSE_BEFORE_COMMIT=600, SIJI_TEST_PAUSE_MARKER=marker)
        wait_for(lambda: marker.exists() and marker.read_text().strip(), 60, "worker A to pause in a firing", tmp_path)
        (stalled,) = [int(x) for x in marker.read_text().split()]
        with svc.db.read() as s:
            t = s.get(Timer, stalled)
            assert t.status == "waiting" and t.fired_at is None  # nothing of the firing is visible
            assert s.get(Instance, t.instance_id).status == "running"
            stalled_instance = t.instance_id
            assert (
                s.scalar(
                    select(func.count(AuditEvent.id)).where(
                        AuditEvent.instance_id == stalled_instance, AuditEvent.transition == "timer_fired"
                    )
                )
                == 0
            )
        b, _ = spawn(db_url, tmp_path, "b", procs)
        if backend == "postgres":
            # B fires the others, skipping the instance A has locked
            wait_for(lambda: waiting_count(svc, ids) == 1, 60, "worker B to fire the other timers", tmp_path)
            with svc.db.read() as s:
                assert s.get(Timer, stalled).status == "waiting"
        os.kill(a.pid, signal.SIGKILL)
        assert a.wait(timeout=10) == -signal.SIGKILL
        wait_for(lambda: waiting_count(svc, ids) == 0, 90, "the stalled timer to fire on worker B", tmp_path)
        bench.stop_workers(procs)
        per_timer = check_exactly_once(svc, ids)
        assert per_timer[stalled] == 1
        with svc.db.read() as s:
            inst = s.get(Instance, stalled_instance)
            assert inst.status == "completed" and inst.outcome_id == "End_Done"
            trace = [
                e.transition
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.instance_id == stalled_instance).order_by(AuditEvent.seq)
                )
            ]
        assert trace == ["instance_started", "activity", "timer_armed", "timer_fired", "end", "instance_completed"]
    finally:
        svc.db.dispose()


def test_running_worker_process_fires_on_time_and_follows_the_shared_clock(backend, db_url, tmp_path, procs):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_timers import real_clock_harness

    from engine.store.models import Timer

    h = real_clock_harness(db_url, backend, {"SIJI_ALLOW_CLOCK_CONTROL": True})
    try:
        h.deploy_paths(ROOT / "tests" / "data" / "timers" / "tm_one")
        _, log = spawn(db_url, tmp_path, "worker", procs)
        bench.wait_started([log], procs)

        def timer_of(iid):
            with h.service.db.read() as s:
                return s.scalars(select(Timer).where(Timer.instance_id == iid)).one()

        # lag: a timer due 2 s from now fires soon after (the benchmark measures it precisely)
        iid = h.start("tm_one", "ent_a", {"delay_seconds": 2})["id"]
        wait_for(lambda: timer_of(iid).status == "fired", 20, "the 2-second timer", tmp_path, 0.05)
        t = timer_of(iid)
        lag = (t.fired_at - t.due_at).total_seconds()
        assert 0 <= lag < 5, lag

        # the clock moved through the API (another process) reaches the worker process
        iid = h.start("tm_one", "ent_a", {"delay_seconds": 3600})["id"]
        time.sleep(1.0)
        assert timer_of(iid).status == "waiting"
        t0 = time.monotonic()
        h.ok(h.post("/api/admin/clock", "admin", json={"advance": "PT2H"}))
        wait_for(lambda: timer_of(iid).status == "fired", 20, "the timer made due by the clock", tmp_path, 0.05)
        took = time.monotonic() - t0
        assert took < 5, took
        print(f"{backend}: lag {lag * 1000:.0f} ms; fired {took * 1000:.0f} ms after the clock moved")
    finally:
        bench.stop_workers(procs)
        h.service.db.dispose()
