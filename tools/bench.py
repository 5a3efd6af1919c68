#!/usr/bin/env python3
"""Benchmark: the service against the engine's own limit, measured in the same run.

    tools/bench [--quick] [--json] [--postgres URL] [--skip-postgres]

Starts real servers (gunicorn, `siji serve --no-worker`) on a temporary SQLite file and, where
reachable, on a fresh PostgreSQL schema, and prints each figure with its ratio to the engine limit
(plain SpiffWorkflow: load + complete one user task + engine steps + save, no HTTP, no database).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH = ROOT / "tests" / "data" / "bench"
PY = sys.executable


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- engine limit
def engine_limit(rounds: int) -> float:
    from engine.workflow.baseline import engine_limit_ms, run_all_user_tasks

    def prepare(wf):
        from engine.workflow.baseline import set_start_data

        set_start_data(wf, json.loads((BENCH / "bench28.settings.json").read_text()))
        run_all_user_tasks(wf, lambda t: {"accepted": True} if t.task_spec.bpmn_id == "Task_Accept" else None)

    times = engine_limit_ms(BENCH / "bench28.bpmn", "bench28", prepare, lambda t: {"review0": True}, rounds)
    return statistics.median(times)


def simulation_rate(cases: int) -> float:
    """Simulated cases/s of the largest flow (land_to_construction, its bpmn/simulation/ settings file):
    the real engine in process, no HTTP, no database (engine/simulation/, docs/SIMULATION.md)."""
    from engine.simulation.cli import settings_for
    from engine.simulation.parallel import simulate_replications
    from engine.simulation.process import compile_process

    compiled = compile_process("land_to_construction")
    settings, _ = settings_for(compiled.key, None)
    procs = os.cpu_count() or 1  # siji simulate's default: one worker per CPU, a replication each
    t0 = time.perf_counter()
    simulate_replications(compiled, settings, cases, seed=1, processes=procs, replications=procs)
    return cases / (time.perf_counter() - t0)


# ---------------------------------------------------------------- setup
class Stack:
    """A database with the bench processes, users, and a gunicorn server."""

    def __init__(self, url: str, workdir: Path):
        self.url, self.workdir = url, workdir
        self.proc = None
        from engine.service.build import build_service
        from engine.settings import Settings

        self.svc = build_service(Settings(database_url=url), migrate=True)
        from engine.cli.main import collect_files
        from engine.service.users import create_user, issue_token, system_actor

        with self.svc.db.write() as s:
            actor = system_actor(s, self.svc.now())
        self.svc.deploy(collect_files([str(BENCH)]), actor)
        self.tokens = {}
        with self.svc.db.write() as s:
            for name, roles in [
                ("ent", ["applicant"]),
                ("bureau", ["approval_bureau"]),
                ("fire", ["fire_rescue"]),
                ("d1", ["natural_resources"]),
                ("d2", ["housing_construction"]),
                ("d3", ["municipal_gardens"]),
                ("d4", ["urban_management"]),
            ]:
                u = create_user(s, name, roles, self.svc.now())
                self.tokens[name] = issue_token(s, u, self.svc.now())

    def start_server(self, workers: int):
        self.stop_server()
        self.port = free_port()
        env = dict(
            os.environ,
            SIJI_DATABASE_URL=self.url,
            SIJI_PORT=str(self.port),
            SIJI_HOST="127.0.0.1",
            SIJI_INSTANCE_DIR=str(self.workdir),
        )
        self.proc = subprocess.Popen(
            [PY, "-m", "engine.cli.main", "serve", "--no-worker", "--workers", str(workers)],
            cwd=str(ROOT),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if self.request("GET", "/api/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop_server(self):
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None

    def request(self, method, path, user=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {}
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        return r.status, (
            json.loads(payload)
            if payload and r.getheader("Content-Type", "").startswith("application/json")
            else payload
        )

    def close(self):
        self.stop_server()
        self.svc.db.dispose()


# ---------------------------------------------------------------- measurements
def lifecycle(stack: Stack, clients: int, seconds: float) -> float:
    """Cases per second: start a one-task case, read the inbox, read the task with its form, complete."""
    done = [0]
    stop = time.time() + seconds
    errors = []

    def run():
        while time.time() < stop:
            st, inst = stack.request("POST", "/api/process-instances", "ent", {"process_key": "bench_one"})
            if st != 201:
                errors.append(st)
                continue
            st, inbox = stack.request("GET", f"/api/tasks?process_instance_id={inst['id']}", "bureau")
            tid = inbox["items"][0]["id"]
            stack.request("GET", f"/api/tasks/{tid}", "bureau")
            st, _ = stack.request("POST", f"/api/tasks/{tid}/complete", "bureau", {"data": {"approved": True}})
            if st == 200:
                done[0] += 1
            else:
                errors.append(st)

    t0 = time.time()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"  (lifecycle errors: {errors[:5]}…)", file=sys.stderr)
    return done[0] / (time.time() - t0)


def completion_latency(stack: Stack, n: int) -> list[float]:
    """Client-side latency of POST complete on the 30-node, 5-way parallel diagram."""
    lat = []
    users = ["fire", "d1", "d2", "d3", "d4"]
    while len(lat) < n:
        st, inst = stack.request("POST", "/api/process-instances", "ent", {"process_key": "bench28"})
        st, inbox = stack.request("GET", f"/api/tasks?process_instance_id={inst['id']}", "bureau")
        stack.request("POST", f"/api/tasks/{inbox['items'][0]['id']}/complete", "bureau", {"data": {"accepted": True}})
        for i, u in enumerate(users):
            st, inbox = stack.request("GET", f"/api/tasks?process_instance_id={inst['id']}", u)
            tid = inbox["items"][0]["id"]
            t0 = time.perf_counter()
            st, _ = stack.request("POST", f"/api/tasks/{tid}/complete", u, {"data": {f"review{i}": True}})
            lat.append((time.perf_counter() - t0) * 1000)
            assert st == 200, st
    return lat


def loop_latency(stack: Stack, sizes: list[int], samples: int = 20) -> dict[int, float]:
    """Completion p50 on an instance that has already completed N user tasks."""
    out = {}
    st, inst = stack.request("POST", "/api/process-instances", "ent", {"process_key": "bench_loop"})
    count = 0
    for size in sizes:
        while count < size:
            st, inbox = stack.request("GET", f"/api/tasks?process_instance_id={inst['id']}", "bureau")
            stack.request(
                "POST", f"/api/tasks/{inbox['items'][0]['id']}/complete", "bureau", {"data": {"approved": True}}
            )
            count += 1
        lat = []
        for _ in range(samples):
            st, inbox = stack.request("GET", f"/api/tasks?process_instance_id={inst['id']}", "bureau")
            tid = inbox["items"][0]["id"]
            t0 = time.perf_counter()
            stack.request("POST", f"/api/tasks/{tid}/complete", "bureau", {"data": {"approved": True}})
            lat.append((time.perf_counter() - t0) * 1000)
            count += 1
        out[size] = statistics.median(lat)
    return out


def bulk_load(stack: Stack, n_instances: int, role: str = "fire_rescue") -> None:
    """Load n instances of bench_one, each with one open task for ``role``, with SQL (not HTTP).
    Each row carries the real saved state of a started instance."""
    from sqlalchemy import insert, select

    from engine.store.models import NO_DUE, Instance, Task, User, task_audience

    svc = stack.svc
    with svc.db.read() as s:
        template = s.scalars(
            select(Instance).where(Instance.process_key == "bench_one").order_by(Instance.id.desc()).limit(1)
        ).first()
        ent = s.scalar(select(User.id).where(User.username == "ent"))
    if template is None:
        from engine.service.actor import Actor

        with svc.db.read() as s:
            uid = s.scalar(select(User.id).where(User.username == "ent"))
        iid = svc.start(Actor(uid, "ent", frozenset({"applicant"})), "bench_one", None, {})
        with svc.db.read() as s:
            template = s.get(Instance, iid)
    now = svc.now()
    batch = 5000
    done = 0
    while done < n_instances:
        k = min(batch, n_instances - done)
        with svc.db.write() as s:
            start_id = (s.scalar(select(Instance.id).order_by(Instance.id.desc()).limit(1)) or 0) + 1
            s.execute(
                insert(Instance),
                [
                    dict(
                        id=start_id + i,
                        version_id=template.version_id,
                        process_key="bench_one",
                        business_key=None,
                        status="running",
                        starter_id=ent,
                        enterprise_id=ent,
                        created_at=now,
                        updated_at=now,
                        state=template.state,
                        lock_version=1,
                        last_seq=0,
                        last_hash="",
                    )
                    for i in range(k)
                ],
            )
            s.execute(
                insert(Task.__table__),
                [
                    dict(
                        id=str(uuid.uuid4()),
                        instance_id=start_id + i,
                        process_key="bench_one",
                        activity_id="Task_Only",
                        name="审查",
                        role=role,
                        state="open",
                        form_key="bench_one/Task_Only",
                        created_at=now,
                        audience=task_audience(None, role),
                        sort_due=NO_DUE,
                    )
                    for i in range(k)
                ],
            )
        done += k


def timed_gets(stack: Stack, path: str, user: str, n: int) -> list[float]:
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        st, _ = stack.request("GET", path, user)
        lat.append((time.perf_counter() - t0) * 1000)
        assert st == 200, st
    return lat


# ---------------------------------------------------------------- main
def run(args) -> dict:
    quick = args.quick
    res: dict = {}
    rows: list[tuple[str, float, str]] = []
    print("measuring the engine limit …", file=sys.stderr)
    limit = engine_limit(100 if quick else 300)
    res["engine_limit_ms"] = round(limit, 3)

    def row(name, value, unit, ratio_kind="time"):
        if ratio_kind == "time":
            ratio = value / limit
        elif ratio_kind is None:  # a figure in its own unit (seconds of a whole run)
            ratio = None
        else:  # throughput: cases/s vs engine completions/s
            ratio = value / (1000.0 / limit)
        rows.append((name, value, unit, ratio))

    row("engine limit (load+complete+steps+save, in-process)", limit, "ms")
    print("simulation …", file=sys.stderr)
    n_sim = getattr(args, "simulation_cases", None) or (300 if quick else 2000)
    res["simulated_cases_per_s"] = round(simulation_rate(n_sim), 1)
    row(
        f"simulated cases/s, land_to_construction, {n_sim} cases ({os.cpu_count()} processes, no DB)",
        res["simulated_cases_per_s"],
        "cases/s",
        "rate",
    )
    # issue 18's figure: 10,000 cases of the largest flow (measured when --simulation-cases 10000)
    res["simulated_10000_s"] = round(10000 / res["simulated_cases_per_s"], 1)
    row(
        f"seconds for 10,000 simulated cases at that rate (target < 60 s; {n_sim} run)",
        res["simulated_10000_s"],
        "s",
        None,
    )
    if getattr(args, "simulation_only", False):
        return _with_rows(res, rows)
    work = Path(tempfile.mkdtemp(prefix="siji-bench-"))
    try:
        sqlite = Stack(f"sqlite:///{work / 'bench.sqlite3'}", work)
        try:
            sqlite.start_server(workers=2)
            secs = 5 if quick else 20
            print("lifecycle on SQLite …", file=sys.stderr)
            res["lifecycle_per_s_1"] = round(lifecycle(sqlite, 1, secs), 1)
            res["lifecycle_per_s_4"] = round(lifecycle(sqlite, 4, secs), 1)
            row("lifecycle, 1 client (SQLite)", res["lifecycle_per_s_1"], "cases/s", "rate")
            row("lifecycle, 4 clients (SQLite)", res["lifecycle_per_s_4"], "cases/s", "rate")
            print("completion latency on SQLite …", file=sys.stderr)
            lat = completion_latency(sqlite, 60 if quick else 300)
            res.update(
                completion_p50_ms=round(pct(lat, 50), 2),
                completion_p95_ms=round(pct(lat, 95), 2),
                completion_p99_ms=round(pct(lat, 99), 2),
            )
            for p in (50, 95, 99):
                row(f"complete p{p}, 30-node diagram (SQLite)", res[f"completion_p{p}_ms"], "ms")
            small = pct(lat, 50)
            print("instance size …", file=sys.stderr)
            sizes = loop_latency(sqlite, [10, 50, 200], samples=10 if quick else 20)
            for k, v in sizes.items():
                row(f"complete p50 after {k} user tasks in the instance", v, "ms")
            res["completion_p50_by_instance_size"] = {str(k): round(v, 2) for k, v in sizes.items()}
            n_rows = 10_000 if quick else 100_000
            print(f"bulk-loading {n_rows} open tasks …", file=sys.stderr)
            bulk_load(sqlite, n_rows)
            res["inbox_open_tasks"] = n_rows
            inbox = timed_gets(sqlite, "/api/tasks", "fire", 100)
            res["inbox_p50_ms"], res["inbox_p95_ms"] = round(pct(inbox, 50), 2), round(pct(inbox, 95), 2)
            row(f"inbox p50, {n_rows} open tasks", res["inbox_p50_ms"], "ms")
            row(f"inbox p95, {n_rows} open tasks", res["inbox_p95_ms"], "ms")
            inst = timed_gets(sqlite, "/api/process-instances?status=running", "bureau", 50)
            res["instances_p95_ms"] = round(pct(inst, 95), 2)
            row("instances list by status p95 (department)", res["instances_p95_ms"], "ms")
            inst = timed_gets(sqlite, "/api/process-instances?status=running", "fire", 50)
            res["instances_p95_ms_large_dept"] = round(pct(inst, 95), 2)
            row(
                f"instances list by status p95 (department with {n_rows} cases)",
                res["instances_p95_ms_large_dept"],
                "ms",
            )
            lat2 = completion_latency(sqlite, 60 if quick else 300)
            res["completion_p50_ms_large_db"] = round(pct(lat2, 50), 2)
            res["growth_ratio"] = round(pct(lat2, 50) / small, 3)
            row(f"complete p50 with {n_rows}+ instances in the DB", res["completion_p50_ms_large_db"], "ms")
        finally:
            sqlite.close()

        if not args.skip_postgres:
            url = pg_schema(args.postgres)
            if url is None:
                print("PostgreSQL unreachable: skipped", file=sys.stderr)
            else:
                pg = Stack(url, work)
                try:
                    secs = 4 if quick else 15
                    by_workers = {}
                    for w in (1, 2, 4):
                        print(f"PostgreSQL lifecycle with {w} gunicorn worker(s) …", file=sys.stderr)
                        pg.start_server(workers=w)
                        by_workers[str(w)] = round(lifecycle(pg, max(2, w), secs), 1)
                        row(
                            f"lifecycle, {w} gunicorn worker(s), {max(2, w)} clients (PostgreSQL)",
                            by_workers[str(w)],
                            "cases/s",
                            "rate",
                        )
                    res["pg_lifecycle_per_s_by_workers"] = by_workers
                    pg.start_server(workers=2)
                    res["pg_lifecycle_per_s_1"] = round(lifecycle(pg, 1, secs), 1)
                    row("lifecycle, 1 client (PostgreSQL)", res["pg_lifecycle_per_s_1"], "cases/s", "rate")
                    lat = completion_latency(pg, 40 if quick else 200)
                    res["pg_completion_p50_ms"] = round(pct(lat, 50), 2)
                    row("complete p50, 30-node diagram (PostgreSQL)", res["pg_completion_p50_ms"], "ms")
                finally:
                    pg.close()
                    drop_schema(args.postgres, url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _with_rows(res, rows)


def _with_rows(res: dict, rows: list) -> dict:
    res["rows"] = [
        {"name": n, "value": round(v, 3), "unit": u, "ratio_to_engine_limit": None if r is None else round(r, 3)}
        for n, v, u, r in rows
    ]
    return res


def pg_schema(base: str) -> str | None:
    try:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}options=-csearch_path%3D{schema}"
    except Exception:
        return None


def drop_schema(base: str, url: str) -> None:
    import psycopg

    schema = url.split("search_path%3D")[1]
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 and 4 clients, 10,000 rows instead of 100,000")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument(
        "--postgres", default=os.environ.get("SIJI_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument(
        "--simulation-only", action="store_true", help="only the engine limit and the simulation rate (no servers)"
    )
    ap.add_argument(
        "--simulation-cases",
        type=int,
        metavar="N",
        help="simulated cases of land_to_construction (default 300 with --quick, else 2000; 10000 for issue 18's figure)",
    )
    args = ap.parse_args()
    res = run(args)
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    else:
        print(f"{'figure':74s} {'value':>10s} {'unit':8s} {'× engine limit':>14s}")
        for r in res["rows"]:
            ratio = r["ratio_to_engine_limit"]
            print(f"{r['name']:74s} {r['value']:10.2f} {r['unit']:8s} {'' if ratio is None else f'{ratio:14.2f}':>14s}")
        print(f"growth ratio (complete p50, large DB / small DB): {res.get('growth_ratio')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
