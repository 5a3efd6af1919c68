"""Fault injection on PostgreSQL: `tools/chaos` (see --help). Loopback only, bounded in count and
time, stops by itself.

In a fresh schema it starts `siji serve` (several HTTP workers, 2 timer workers), drives cases of
tests/data/timers/tm_boundary with timers due within seconds (a reminder that fires while the task
stays open, a deadline that cancels it), and meanwhile SIGKILLs HTTP workers, the gunicorn master
(`siji serve` then exits and is started again), timer workers, and cuts the service's database
connections (pg_terminate_backend). Clients retry completes with their Idempotency-Key until
acknowledged. Afterwards, with the service stopped, it checks: every acknowledged start and
complete is in the database, every audit chain verifies (`siji verify-trace`), no timer fired
twice, no case is stuck (a running case has an open task or a waiting timer, no timer is overdue,
open task rows equal the engine's ready tasks), and no request answered 500.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.process import children, cmdline  # noqa: E402

FLOW = ROOT / "tests" / "data" / "timers" / "tm_boundary"
APP_NAME = "siji_chaos"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, url: str, port: int, workers: int, log_path: Path):
        self.url, self.port, self.workers = url, port, workers
        self.log = open(log_path, "ab")
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        env = {
            **os.environ,
            "SIJI_DATABASE_URL": self.url,
            "SIJI_PORT": str(self.port),
            "SIJI_HOST": "127.0.0.1",
            "SIJI_TIMER_WORKERS": "2",
            "SIJI_DB_POOL": "3",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "serve", "--workers", str(self.workers)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"siji serve exited with {self.proc.returncode}; see the log")
            try:
                if request(self.port, "GET", "/api/health", None, {}, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("siji serve did not serve within 60 s")

    def master(self) -> int | None:
        return next((p for p in children(self.proc.pid) if "api.server" in cmdline(p)), None)

    def http_workers(self) -> list[int]:
        m = self.master()
        return children(m) if m else []

    def timer_workers(self) -> list[int]:
        return [p for p in children(self.proc.pid) if "engine.cli.main worker" in cmdline(p)]

    def ensure_running(self) -> bool:
        """Start again when the master's death took `siji serve` down. True if restarted."""
        if self.proc.poll() is None:
            return False
        self.start()
        return True

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def request(port, method, path, body, headers, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw or b"null")
        except ValueError:
            return resp.status, None
    finally:
        conn.close()


class Load:
    """Clients: start a case, then complete its review with an Idempotency-Key, retried until it is
    acknowledged (200) or the task is gone (its deadline cancelled it: 409)."""

    def __init__(self, port, tokens, until, max_cases):
        self.port, self.tokens, self.until, self.max_cases = port, tokens, until, max_cases
        self.lock = threading.Lock()
        self.status = Counter()
        self.started: set[int] = set()
        self.completed: dict[str, int] = {}  # acknowledged: task id -> instance id
        self.cancelled_before_complete = 0
        self.cases = 0

    def call(self, method, path, body, user, extra=None):
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **(extra or {})}
        try:
            status, data = request(self.port, method, path, body, headers)
        except (OSError, http.client.HTTPException):
            status, data = 0, None  # connection refused/reset: the server was killed
        with self.lock:
            self.status[status] += 1
        return status, data

    def client(self, seed: int) -> None:
        rnd = random.Random(seed)
        while time.monotonic() < self.until:
            with self.lock:
                if self.cases >= self.max_cases:
                    return
                self.cases += 1
            status, data = self.call("POST", "/api/process-instances", {"process_key": "tm_boundary"}, "ent")
            if status != 201:
                time.sleep(0.05)
                continue
            iid = data["id"]
            with self.lock:
                self.started.add(iid)
            if rnd.random() < 0.3:  # some reviews wait past the reminder (2 s), some past the deadline (5 s)
                time.sleep(rnd.uniform(1.5, 6))
            task = None
            while task is None and time.monotonic() < self.until + 30:
                status, data = self.call("GET", f"/api/tasks?process_instance_id={iid}", None, "bureau")
                if status == 200:
                    items = [t for t in data["items"] if t["activity_id"] == "Task_Review"]
                    task = items[0]["id"] if items else ""
                else:
                    time.sleep(0.1)
            if not task:
                with self.lock:
                    self.cancelled_before_complete += 1
                continue
            key = uuid.uuid4().hex
            while time.monotonic() < self.until + 30:
                status, data = self.call(
                    "POST",
                    f"/api/tasks/{task}/complete",
                    {"data": {"opinion": "同意"}},
                    "bureau",
                    {"Idempotency-Key": key},
                )
                if status == 200:
                    with self.lock:
                        self.completed[task] = iid
                    break
                if status == 409:  # the deadline may have cancelled the review first
                    st, d = self.call("GET", f"/api/tasks/{task}", None, "bureau")
                    if st == 200 and d.get("state") == "cancelled":
                        with self.lock:
                            self.cancelled_before_complete += 1
                        break
                time.sleep(0.1)


def cut_connections(admin_url: str) -> int:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as c:
        rows = c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
        ).fetchall()
    return len(rows)


def check(url: str, load: Load, log) -> dict:
    from sqlalchemy import func, select

    from engine.service.build import build_service
    from engine.settings import Settings
    from engine.store.models import AuditEvent, Instance, Task, Timer

    svc = build_service(Settings(database_url=url))
    out = {}
    try:
        with svc.db.read() as s:
            ids = set(s.scalars(select(Instance.id)))
            out["lost_starts"] = len(load.started - ids)
            lost = 0
            for task_id in load.completed:
                t = s.get(Task, task_id)
                ev = s.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.task_id == task_id, AuditEvent.transition == "complete")
                )
                if t is None or t.state != "completed" or ev != 1:
                    lost += 1
            out["lost_completes"] = lost
            fired = s.execute(
                select(AuditEvent.task_id, func.count())
                .where(AuditEvent.transition == "timer_fired")
                .group_by(AuditEvent.task_id)
            ).all()
            out["timer_fired_events"] = sum(n for _t, n in fired)
            out["double_fires"] = sum(1 for _t, n in fired if n > 1)
            fired_rows = s.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired"))
            out["fired_timer_rows"] = fired_rows
            now = svc.now()
            stuck = 0
            for inst in s.scalars(select(Instance).where(Instance.status == "running")):
                open_rows = {
                    t.id for t in s.scalars(select(Task).where(Task.instance_id == inst.id, Task.state == "open"))
                }
                waiting = s.scalars(select(Timer).where(Timer.instance_id == inst.id, Timer.status == "waiting")).all()
                snap = svc.engine.snapshot(svc.version(s, inst.version_id), inst.state)
                overdue = [t for t in waiting if (now - t.due_at).total_seconds() > 30]
                if (not open_rows and not waiting) or overdue or open_rows != {u.id for u in snap.user_tasks}:
                    stuck += 1
            out["stuck_cases"] = stuck
            out["cases"] = len(ids)
            out["completed_cases"] = s.scalar(
                select(func.count()).select_from(Instance).where(Instance.status == "completed")
            )
    finally:
        svc.db.dispose()
    env = {**os.environ, "SIJI_DATABASE_URL": url}
    vt = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "verify-trace"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    log.write(vt.stdout.encode() + vt.stderr.encode())
    out["verify_trace"] = vt.stdout.strip().splitlines()[-1] if vt.stdout.strip() else f"rc {vt.returncode}"
    out["verify_trace_rc"] = vt.returncode
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="tools/chaos", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--postgres", default=os.environ.get("SIJI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    p.add_argument("--seconds", type=float, default=120, help="load duration (default 120)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--max-cases", type=int, default=5000, help="stop starting cases after this many")
    p.add_argument("--workers", type=int, default=4, help="HTTP workers")
    p.add_argument("--fault-every", type=float, default=3.0, help="seconds between faults (default 3)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = p.parse_args(argv)
    args.seconds = min(args.seconds, 1800)  # bounded whatever is asked
    rnd = random.Random(args.seed)

    import psycopg

    admin = args.postgres.replace("postgresql+psycopg://", "postgresql://")
    schema = "chaos_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in admin else "?"
    url = f"{admin}{sep}options=-csearch_path%3D{schema}&application_name={APP_NAME}"
    logdir = ROOT / "instance"
    logdir.mkdir(exist_ok=True)
    log_path = logdir / f"chaos-{schema}.log"
    print(f"schema {schema}; service log {log_path}")

    from engine.cli.main import collect_files
    from engine.service.build import build_service
    from engine.service.users import create_user, issue_token, system_actor
    from engine.settings import Settings
    from engine.workflow.deploy import UploadedFile

    svc = build_service(Settings(database_url=url), migrate=True)
    files = [f for f in collect_files([str(FLOW)]) if not f.name.endswith(".settings.json")]
    # due within seconds instead of a day and three days
    files.append(
        UploadedFile(
            "tm_boundary.settings.json",
            json.dumps({"reminder_hours": 2 / 3600, "review_days": 5 / 86400, "reminders": 0}).encode(),
        )
    )
    with svc.db.write() as s:
        actor = system_actor(s, svc.now())
    svc.deploy(files, actor)
    tokens = {}
    with svc.db.write() as s:
        for name, roles in (("ent", ["applicant"]), ("bureau", ["approval_bureau"])):
            tokens[name] = issue_token(s, create_user(s, name, roles, svc.now(), name), svc.now())
    svc.db.dispose()

    service = Service(url, free_port(), args.workers, log_path)
    service.start()
    t0 = time.monotonic()
    load = Load(service.port, tokens, t0 + args.seconds, args.max_cases)
    threads = [
        threading.Thread(target=load.client, args=(args.seed * 100 + i,), daemon=True) for i in range(args.clients)
    ]
    for t in threads:
        t.start()

    faults = Counter()
    restarts = 0
    kinds = ["http_worker", "http_worker", "timer_worker", "master", "db_cut"]
    try:
        while time.monotonic() < t0 + args.seconds:
            time.sleep(args.fault_every * rnd.uniform(0.5, 1.5))
            if service.ensure_running():
                restarts += 1
            kind = rnd.choice(kinds)
            try:
                if kind == "http_worker" and service.http_workers():
                    os.kill(rnd.choice(service.http_workers()), signal.SIGKILL)
                elif kind == "timer_worker" and service.timer_workers():
                    os.kill(rnd.choice(service.timer_workers()), signal.SIGKILL)
                elif kind == "master" and service.master():
                    os.kill(service.master(), signal.SIGKILL)
                    service.proc.wait(timeout=30)  # `siji serve` follows its master out
                    service.start()
                    restarts += 1
                elif kind == "db_cut":
                    faults["db_connections_cut"] += cut_connections(admin)
                else:
                    continue
            except ProcessLookupError:
                continue
            faults[kind] += 1
        for t in threads:
            t.join(timeout=60)
        if service.ensure_running():
            restarts += 1
        # let the last deadlines fall due and fire (a few seconds after the last start)
        settle = time.monotonic() + 40
        while time.monotonic() < settle:
            status, _ = request(service.port, "GET", "/api/health", None, {})
            time.sleep(1)
            from sqlalchemy import create_engine, text

            eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
            with eng.connect() as c:
                due = c.execute(
                    text(
                        "SELECT count(*) FROM timers WHERE status = 'waiting' AND due_at < now() - interval '1 second'"
                    )
                ).scalar_one()
                waiting = c.execute(text("SELECT count(*) FROM timers WHERE status = 'waiting'")).scalar_one()
            eng.dispose()
            if due == 0 and waiting == 0:
                break
    finally:
        service.stop()
    elapsed = time.monotonic() - t0
    with open(log_path, "ab") as log:
        results = check(url, load, log)
    if not args.keep:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")

    requests = sum(load.status.values())
    ok = (
        results["lost_starts"] == 0
        and results["lost_completes"] == 0
        and results["double_fires"] == 0
        and results["stuck_cases"] == 0
        and results["verify_trace_rc"] == 0
        and load.status[500] == 0
    )
    print(f"duration {elapsed:.0f} s, {args.clients} clients, {args.workers} HTTP workers, 2 timer workers")
    print(
        f"requests {requests}: "
        + ", ".join(f"{k or 'conn-refused/reset'}: {v}" for k, v in sorted(load.status.items()))
    )
    print("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())) + f"; siji serve restarts {restarts}")
    print(
        f"cases {results['cases']} (completed {results['completed_cases']}); acknowledged starts {len(load.started)}, "
        f"lost {results['lost_starts']}; acknowledged completes {len(load.completed)}, lost {results['lost_completes']}; "
        f"reviews cancelled by their deadline first {load.cancelled_before_complete}"
    )
    print(
        f"timers fired {results['timer_fired_events']} (rows {results['fired_timer_rows']}), "
        f"fired twice {results['double_fires']}; stuck cases {results['stuck_cases']}; "
        f"verify-trace: {results['verify_trace']}; 500 answers {load.status[500]}"
    )
    print("RESULT: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
