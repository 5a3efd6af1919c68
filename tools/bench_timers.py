#!/usr/bin/env python3
"""Timer benchmark on PostgreSQL: firing lag and backlog drain, with real `siji worker` processes.

    tools/bench-timers            # 10,000 timers (a few minutes)
    tools/bench-timers --quick    # 2,000 timers
    tools/bench-timers --json     # figures as JSON on stdout

URL: SIJI_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Everything runs
in a fresh schema that is dropped at the end.

Scenarios
- lag: N timers waiting in the table (most due in 30 days); M of them fall due one after another,
  ``--spacing-ms`` apart (default 200 ms: steady traffic, not a backlog), while worker processes
  run. Lag = the firing's COMMIT (seen by this process
  through a NOTIFY sent by a trigger on the timers table; PostgreSQL delivers notifications at
  commit) minus the timer's due time. Measured with one and with two worker processes.
- drain: N timers already due when the workers start (a worker that was down), drained by one and
  by two worker processes; drain time runs from the first worker's "started" log line to the last
  firing's commit. Meanwhile this process starts a new case every 0.2 s and records how long each
  start command takes, to show the backlog does not starve new commands.

Bulk loading: one real instance of tests/data/timers/tm_one (start → one timer → end) is started
through the service; it is then cloned with SQL — each clone gets fresh SpiffWorkflow task UUIDs,
its own due time written into the engine state (the timer task's event_value) and the timer row,
and its own re-hashed audit chain — so each is a real instance the engine loads and fires.
``clone_instances`` is also used by tests/test_timer_workers.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TM_ONE = ROOT / "tests" / "data" / "timers" / "tm_one"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


# ---------------------------------------------------------------------------- shared helpers
def make_service(url: str, clock=None):
    """A Service on ``url`` (schema created/upgraded), with the tm_one process deployed and an
    applicant user. Returns (service, actor)."""
    from sqlalchemy import select

    from engine.cli.main import collect_files
    from engine.service.actor import Actor
    from engine.service.build import build_service
    from engine.service.users import create_user
    from engine.settings import Settings
    from engine.store.models import ProcessVersionRow, User

    svc = build_service(Settings(database_url=url), clock=clock, migrate=True)
    db = svc.db
    with db.read() as s:
        deployed = s.scalar(select(ProcessVersionRow.id).where(ProcessVersionRow.key == "tm_one"))
    if deployed is None:
        svc.deploy(collect_files([str(TM_ONE)]), None)
    with db.write() as s:
        user = s.scalar(select(User).where(User.username == "bench_ent"))
        if user is None:
            user = create_user(s, "bench_ent", ["applicant"], svc.now(), "压测企业")
            s.flush()
        uid = user.id
    return svc, Actor(uid, "bench_ent", frozenset({"applicant"}))


def clone_instances(svc, template_id: int, dues: list[datetime], batch: int = 1000) -> list[int]:
    """Copy a running one-timer instance once per due time (see the module docstring)."""
    from sqlalchemy import bindparam, insert, select, update

    from engine.audit.chain import GENESIS, event_hash
    from engine.store.models import AuditEvent, Instance, Task, Timer

    with svc.db.read() as s:
        inst = s.get(Instance, template_id)
        timers = s.scalars(select(Timer).where(Timer.instance_id == template_id)).all()
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == template_id).order_by(AuditEvent.seq)
        ).all()
        has_tasks = s.scalar(select(Task.id).where(Task.instance_id == template_id).limit(1)) is not None
    if inst.status != "running" or len(timers) != 1 or timers[0].status != "waiting" or has_tasks:
        raise ValueError("the template must be a running instance with one waiting timer and no user task")
    timer = timers[0]
    template_uuids = sorted(set(UUID_RE.findall(inst.state)))
    if timer.task_id not in template_uuids:
        raise ValueError("the timer's task is not in the template state")
    itab, ttab, atab = Instance.__table__, Timer.__table__, AuditEvent.__table__
    out: list[int] = []
    for start in range(0, len(dues), batch):
        chunk = dues[start : start + batch]
        maps, inst_rows = [], []
        for due in chunk:
            mapping = {u: str(uuid.uuid4()) for u in template_uuids}
            text = UUID_RE.sub(lambda m, mapping=mapping: mapping.get(m.group(0), m.group(0)), inst.state)
            state = json.loads(text)
            state["tasks"][mapping[timer.task_id]]["internal_data"]["event_value"] = due.isoformat()
            maps.append(mapping)
            inst_rows.append(
                dict(
                    version_id=inst.version_id,
                    process_key=inst.process_key,
                    business_key=None,
                    status="running",
                    starter_id=inst.starter_id,
                    enterprise_id=inst.enterprise_id,
                    created_at=inst.created_at,
                    updated_at=inst.updated_at,
                    ended_at=None,
                    outcome_id=None,
                    outcome_name=None,
                    state=json.dumps(state),
                    lock_version=1,
                    last_seq=0,
                    last_hash="",
                )
            )
        with svc.db.write() as s:
            ids = s.execute(insert(itab).returning(itab.c.id, sort_by_parameter_order=True), inst_rows).scalars().all()
            timer_rows = [
                dict(
                    instance_id=iid,
                    task_id=m[timer.task_id],
                    activity_id=timer.activity_id,
                    due_at=due,
                    status="waiting",
                    provisional=False,
                    calc=None,
                    attached_task_id=None,
                    created_at=timer.created_at,
                    fired_at=None,
                )
                for iid, m, due in zip(ids, maps, chunk)
            ]
            tids = (
                s.execute(insert(ttab).returning(ttab.c.id, sort_by_parameter_order=True), timer_rows).scalars().all()
            )
            ev_rows, heads = [], []
            for iid, m, due, tid in zip(ids, maps, chunk, tids):
                prev = GENESIS
                for ev in events:
                    data = json.loads(json.dumps(ev.data))
                    if ev.transition == "timer_armed":
                        data["due_at"] = due.isoformat()
                        if "timer_id" in data:
                            data["timer_id"] = tid
                    task_id = m.get(ev.task_id, ev.task_id) if ev.task_id else None
                    h = event_hash(
                        prev,
                        iid,
                        ev.seq,
                        ev.at,
                        ev.activity_id,
                        ev.activity_name,
                        ev.transition,
                        ev.actor,
                        ev.role,
                        task_id,
                        data,
                    )
                    ev_rows.append(
                        dict(
                            instance_id=iid,
                            process_key=ev.process_key,
                            seq=ev.seq,
                            at=ev.at,
                            activity_id=ev.activity_id,
                            activity_name=ev.activity_name,
                            transition=ev.transition,
                            actor=ev.actor,
                            role=ev.role,
                            task_id=task_id,
                            data=data,
                            prev_hash=prev,
                            hash=h,
                        )
                    )
                    prev = h
                heads.append(dict(b_id=iid, b_seq=len(events), b_hash=prev))
            s.execute(insert(atab), ev_rows)
            s.execute(
                update(itab)
                .where(itab.c.id == bindparam("b_id"))
                .values(last_seq=bindparam("b_seq"), last_hash=bindparam("b_hash")),
                heads,
            )
        out.extend(ids)
    return out


def start_template(svc, actor, delay_seconds: int = 30 * 86400) -> int:
    return svc.start(actor, "tm_one", None, {"delay_seconds": delay_seconds})


def spawn_worker(url: str, log_path: Path, extra_env: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ, SIJI_DATABASE_URL=url, PYTHONUNBUFFERED="1")
    env.pop("SIJI_TEST_PAUSE_BEFORE_COMMIT", None)
    env.update(extra_env or {})
    if extra_env and extra_env.get("PYTHONPATH") and os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = extra_env["PYTHONPATH"] + os.pathsep + os.environ["PYTHONPATH"]
    log = open(log_path, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "worker"],
        cwd=str(ROOT),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_started(log_paths: list[Path], procs: list[subprocess.Popen], timeout: float = 60.0) -> float:
    """Wait until every worker logged that it started; returns the monotonic time the first did."""
    first = None
    deadline = time.monotonic() + timeout
    pending = set(range(len(log_paths)))
    while pending:
        for i in list(pending):
            if "started" in log_paths[i].read_text(errors="replace"):
                pending.discard(i)
                first = first or time.monotonic()
            elif procs[i].poll() is not None:
                raise RuntimeError(f"worker exited early: {log_paths[i].read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start in time")
        time.sleep(0.02)
    return first


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(2)  # SIGINT: the worker stops after its current transaction
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------- the benchmark
class FiredListener:
    """Receives a NOTIFY per fired timer (sent by a trigger at commit) and timestamps it."""

    def __init__(self, raw_url: str, schema: str):
        import psycopg

        self.channel = f"{schema}_fired"
        self.conn = psycopg.connect(raw_url, autocommit=True)
        self.conn.execute(f"LISTEN {self.channel}")
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            for n in self.conn.notifies(timeout=0.2):
                self.seen.setdefault(int(n.payload), time.time())

    def close(self):
        self._stop.set()
        self.thread.join(timeout=5)
        self.conn.close()


def install_trigger(raw_url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(raw_url, autocommit=True) as c:
        c.execute(f"""
            CREATE FUNCTION {schema}.bench_notify_fired() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.status = 'fired' AND OLD.status <> 'fired' THEN
                PERFORM pg_notify('{schema}_fired', NEW.id::text);
              END IF;
              RETURN NEW;
            END $$""")
        c.execute(f"""CREATE TRIGGER bench_fired AFTER UPDATE ON {schema}.timers FOR EACH ROW
                      EXECUTE FUNCTION {schema}.bench_notify_fired()""")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = max(0, min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1)))))
    return xs[k]


def reset(svc) -> None:
    """Empty the timer-related tables between scenarios (keeps the deployment and the user)."""
    from sqlalchemy import delete

    from engine.store.models import AuditEvent, Incident, Instance, Task, Timer

    with svc.db.write() as s:
        for model in (AuditEvent, Timer, Task, Incident, Instance):
            s.execute(delete(model))


def count_waiting(svc) -> int:
    from sqlalchemy import func, select

    from engine.store.models import Timer

    with svc.db.read() as s:
        return s.scalar(select(func.count(Timer.id)).where(Timer.status == "waiting"))


def fired_once_check(svc) -> dict:
    """Exactly-once check: timer_fired events per timer id and timer statuses."""
    from collections import Counter

    from sqlalchemy import func, select

    from engine.store.models import AuditEvent, Timer

    with svc.db.read() as s:
        per = Counter(
            (d or {}).get("timer_id")
            for (d,) in s.execute(select(AuditEvent.data).where(AuditEvent.transition == "timer_fired"))
        )
        fired = s.scalar(select(func.count(Timer.id)).where(Timer.status == "fired"))
    return {
        "fired_rows": fired,
        "fired_events": sum(per.values()),
        "timers_fired_more_than_once": sum(1 for v in per.values() if v > 1),
    }


def scenario_lag(
    svc, actor, url, raw_url, schema, workdir: Path, n_waiting: int, n_measured: int, workers: int, spacing_ms: int
) -> dict:
    reset(svc)
    template = start_template(svc, actor)
    far = datetime.now(UTC) + timedelta(days=30)
    clone_instances(svc, template, [far + timedelta(seconds=i) for i in range(n_waiting - n_measured - 1)])
    logs = [workdir / f"lag-{workers}-{i}.log" for i in range(workers)]
    procs = [spawn_worker(url, p) for p in logs]
    listener = FiredListener(raw_url, schema)
    try:
        wait_started(logs, procs)
        time.sleep(0.5)
        # the measured timers fall due from 2 s from now on, one every ``spacing_ms``
        base = datetime.now(UTC) + timedelta(seconds=2)
        dues = [base + timedelta(milliseconds=spacing_ms * i) for i in range(n_measured)]
        ids = clone_instances(svc, template, dues)
        from sqlalchemy import select

        from engine.store.models import Timer

        with svc.db.read() as s:
            tid_due = {t: d for t, d in s.execute(select(Timer.id, Timer.due_at).where(Timer.instance_id.in_(ids)))}
        deadline = time.monotonic() + 60 + n_measured * spacing_ms / 1000
        while time.monotonic() < deadline and not all(t in listener.seen for t in tid_due):
            time.sleep(0.05)
    finally:
        stop_workers(procs)
        listener.close()
    lags = [listener.seen[t] - d.timestamp() for t, d in tid_due.items() if t in listener.seen]
    with svc.db.read() as s:  # fired_at: when the firing transaction began (the service clock)
        starts = [
            (f - d).total_seconds()
            for f, d in s.execute(
                select(Timer.fired_at, Timer.due_at).where(Timer.id.in_(list(tid_due)), Timer.fired_at.is_not(None))
            )
        ]
    missing = sum(1 for t in tid_due if t not in listener.seen)
    waiting = count_waiting(svc)
    return {
        "workers": workers,
        "waiting_timers": waiting + len(lags),
        "measured": len(lags),
        "missed": missing,
        "lag_p50_ms": pct(lags, 50) * 1000,
        "lag_p99_ms": pct(lags, 99) * 1000,
        "lag_max_ms": max(lags) * 1000 if lags else float("nan"),
        "firing_start_p50_ms": pct(starts, 50) * 1000,
        "firing_start_p99_ms": pct(starts, 99) * 1000,
        **fired_once_check(svc),
    }


def scenario_drain(svc, actor, url, raw_url, schema, workdir: Path, n: int, workers: int) -> dict:
    reset(svc)
    template = start_template(svc, actor)
    past = datetime.now(UTC) - timedelta(minutes=5)
    ids = clone_instances(svc, template, [past + timedelta(milliseconds=i) for i in range(n)])
    from sqlalchemy import func, select

    from engine.store.models import Timer

    with svc.db.read() as s:
        backlog = set(s.scalars(select(Timer.id).where(Timer.instance_id.in_(ids)))) if n <= 20000 else set()
    logs = [workdir / f"drain-{workers}-{i}.log" for i in range(workers)]
    listener = FiredListener(raw_url, schema)
    latencies: list[float] = []
    stop_cmds = threading.Event()

    def commands():
        # new cases keep coming while the backlog drains; their timers are far away
        while not stop_cmds.is_set():
            t0 = time.perf_counter()
            svc.start(actor, "tm_one", None, {"delay_seconds": 86400})
            latencies.append(time.perf_counter() - t0)
            stop_cmds.wait(0.2)

    procs = [spawn_worker(url, p) for p in logs]
    cmd_thread = threading.Thread(target=commands, daemon=True)
    try:
        t_start = wait_started(logs, procs)
        t_start_wall = time.time() - (time.monotonic() - t_start)
        cmd_thread.start()
        deadline = time.monotonic() + 60 + n * 0.1
        while time.monotonic() < deadline and not backlog <= listener.seen.keys():
            time.sleep(0.1)
        stop_cmds.set()
        cmd_thread.join(timeout=30)
    finally:
        stop_workers(procs)
        listener.close()
    done = [listener.seen[t] for t in backlog if t in listener.seen]
    drain = (max(done) - t_start_wall) if done else float("nan")
    with svc.db.read() as s:
        still = s.scalar(select(func.count(Timer.id)).where(Timer.instance_id.in_(ids), Timer.status == "waiting"))
    return {
        "workers": workers,
        "backlog": n,
        "fired": len(done),
        "missed": still,
        "drain_s": drain,
        "timers_per_s": len(done) / drain if done and drain > 0 else float("nan"),
        "commands_during_drain": len(latencies),
        "command_p50_ms": pct(latencies, 50) * 1000,
        "command_max_ms": max(latencies) * 1000 if latencies else float("nan"),
        **fired_once_check(svc),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 timers instead of 10,000")
    ap.add_argument("-n", type=int, help="number of timers (overrides --quick)")
    ap.add_argument("--measured", type=int, help="timers whose lag is measured (default 100 quick, 200 full)")
    ap.add_argument(
        "--spacing-ms",
        type=int,
        default=200,
        help="interval between the due times of the measured timers (default 200 ms)",
    )
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    n = args.n or (2000 if args.quick else 10000)
    measured = args.measured or (100 if args.quick else 200)

    import logging
    import tempfile

    import psycopg

    logging.basicConfig(level=logging.WARNING)
    base = os.environ.get("SIJI_BENCH_POSTGRES_URL", DEFAULT_URL)
    raw = base.replace("postgresql+psycopg://", "postgresql://")
    schema = "bench_timers_" + uuid.uuid4().hex[:8]
    with psycopg.connect(raw, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    results: dict = {
        "timers": n,
        "measured": measured,
        "spacing_ms": args.spacing_ms,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "lag": [],
        "drain": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-timers-"))
    svc = None
    try:
        svc, actor = make_service(url)
        install_trigger(raw, schema)
        say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
        for w in (1, 2):
            say(f"lag: {n} waiting timers, {measured} measured, {w} worker process(es) …")
            results["lag"].append(scenario_lag(svc, actor, url, raw, schema, workdir, n, measured, w, args.spacing_ms))
        for w in (1, 2):
            say(f"drain: backlog of {n} due timers, {w} worker process(es) …")
            results["drain"].append(scenario_drain(svc, actor, url, raw, schema, workdir, n, w))
    finally:
        if svc is not None:
            svc.db.dispose()
        with psycopg.connect(raw, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
    results["load_after"] = os.getloadavg()[0]
    d1, d2 = results["drain"]
    results["drain_speedup_two_vs_one"] = d1["drain_s"] / d2["drain_s"] if d2["drain_s"] else float("nan")
    l1, l2 = results["lag"]
    results["lag_p99_ratio_two_vs_one"] = l2["lag_p99_ms"] / l1["lag_p99_ms"] if l1["lag_p99_ms"] else float("nan")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print()
    print(
        f"PostgreSQL, {os.cpu_count()} CPUs (load average {results['load_before']:.1f} before, "
        f"{results['load_after']:.1f} after), {n} timers; lag measured on {measured} timers due "
        f"{args.spacing_ms} ms apart"
    )
    print(f"{'scenario':<34}{'workers':>8}{'p50':>10}{'p99':>10}{'max':>10}{'missed':>8}{'>1x':>6}")
    for r in results["lag"]:
        print(
            f"{'lag (due → commit), ms':<34}{r['workers']:>8}{r['lag_p50_ms']:>10.1f}{r['lag_p99_ms']:>10.1f}"
            f"{r['lag_max_ms']:>10.1f}{r['missed']:>8}{r['timers_fired_more_than_once']:>6}"
        )
    for r in results["lag"]:
        print(
            f"{'  of which due → firing start, ms':<34}{r['workers']:>8}{r['firing_start_p50_ms']:>10.1f}"
            f"{r['firing_start_p99_ms']:>10.1f}"
        )
    print(
        f"{'scenario':<34}{'workers':>8}{'drain s':>10}{'timers/s':>10}{'cmd p50':>10}{'cmd max':>10}{'missed':>8}{'>1x':>6}"
    )
    for r in results["drain"]:
        print(
            f"{'drain backlog of ' + str(r['backlog']):<34}{r['workers']:>8}{r['drain_s']:>10.1f}"
            f"{r['timers_per_s']:>10.1f}{r['command_p50_ms']:>10.1f}{r['command_max_ms']:>10.1f}"
            f"{r['missed']:>8}{r['timers_fired_more_than_once']:>6}"
        )
    print(
        f"two workers vs one: drain {results['drain_speedup_two_vs_one']:.2f}x faster; "
        f"lag p99 ratio {results['lag_p99_ratio_two_vs_one']:.2f}"
    )
    return 0


if __name__ == "__main__":
    venv = ROOT / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve() and (venv / "bin" / "python").exists():
        os.execv(str(venv / "bin" / "python"), [str(venv / "bin" / "python"), __file__, *sys.argv[1:]])
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
