"""Crash safety with a real server process: `siji serve` (gunicorn, two workers) on a SQLite file,
clients completing tasks concurrently, and the whole process group killed with SIGKILL in the
middle. Afterwards:

- every complete the server acknowledged (200) is in the database, with its audit event;
- no instance is half-written: each state loads, its open tasks are exactly the engine's ready
  user tasks, its audit hash chain verifies, and a completion exists exactly when its
  idempotency key was stored (same transaction);
- a restarted server accepts the clients' retries (same Idempotency-Key) and every task ends
  completed exactly once.

SIJI_TEST_COMMIT_DELAY (tests/faults/sitecustomize.py) makes each write transaction sleep just before COMMIT, so the
kill lands inside transactions rather than between them.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

from conftest import ROOT, make_harness
from fault_env import fault_env  # noqa: E402
from test_api_core import GOOD_START, MINI

N_INSTANCES = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, tmp_path, delay: float):
        self.port = _free_port()
        env = fault_env(
            {
                **os.environ,
                "SIJI_DATABASE_URL": url,
                "SIJI_PORT": str(self.port),
                "SIJI_HOST": "127.0.0.1",
                "SIJI_INSTANCE_DIR": str(tmp_path / "instance"),
            },
            SIJI_TEST_COMMIT_DELAY=delay,
        )
        self.log = open(tmp_path / f"server-{self.port}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "serve", "--workers", "2", "--no-worker"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.logs()}")
            try:
                status, _ = self.request("GET", "/api/health", None, {}, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"server did not start: {self.logs()}")

    def request(self, method, path, body, headers, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def kill(self):
        """SIGKILL the whole group: the gunicorn arbiter and its workers, mid-request."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.log.close()

    def logs(self) -> str:
        self.log.flush()
        return (self.log.name and open(self.log.name, "rb").read().decode(errors="replace"))[-3000:]


def _check_consistency(url: str, acked: set[int]) -> dict[int, bool]:
    """Every instance whole; returns instance id → completed."""
    from sqlalchemy import select

    from engine.audit.chain import verify_instance
    from engine.service.build import build_service
    from engine.settings import Settings
    from engine.store.models import AuditEvent, IdempotencyKey, Instance, Task

    svc = build_service(Settings(database_url=url))
    db = svc.db
    out = {}
    try:
        with db.read() as s:
            keys = {k.key for k in s.scalars(select(IdempotencyKey))}
            for inst in s.scalars(select(Instance).order_by(Instance.id)):
                pv = svc.version(s, inst.version_id)
                snap = svc.engine.snapshot(pv, inst.state)  # the state loads
                open_rows = {
                    t.id for t in s.scalars(select(Task).where(Task.instance_id == inst.id, Task.state == "open"))
                }
                assert open_rows == {ut.id for ut in snap.user_tasks}, (inst.id, open_rows, snap.user_tasks)
                assert verify_instance(s, inst) == (True, None), inst.id
                completes = s.scalars(
                    select(AuditEvent).where(AuditEvent.instance_id == inst.id, AuditEvent.transition == "complete")
                ).all()
                done = inst.status == "completed"
                assert len(completes) == (1 if done else 0), (inst.id, inst.status, len(completes))
                assert (f"crash-{inst.id}" in keys) == done, (inst.id, done)
                if done:
                    assert not open_rows and inst.outcome_id == "End_Approved"
                else:
                    assert inst.status == "running" and len(open_rows) == 1
                if inst.id in acked:
                    assert done, f"acknowledged complete of instance {inst.id} was lost"
                out[inst.id] = done
    finally:
        db.dispose()
    return out


def test_sigkill_mid_completes_loses_nothing_acknowledged(tmp_path):
    url = f"sqlite:///{tmp_path / 'siji.sqlite3'}"
    h = make_harness(url, "sqlite", start=datetime.now(UTC))
    h.deploy_paths(MINI)
    instances = [h.start("mini", "ent_a", GOOD_START)["id"] for _ in range(N_INSTANCES)]
    tasks = {iid: h.task_for("bureau", iid, "Task_Review")["id"] for iid in instances}
    auth = {"Authorization": f"Bearer {h.tokens['bureau']}"}
    h.service.db.dispose()

    server = Server(url, tmp_path, delay=0.05)
    acked: set[int] = set()
    lock = threading.Lock()

    def client(iids):
        for iid in iids:
            try:
                status, body = server.request(
                    "POST",
                    f"/api/tasks/{tasks[iid]}/complete",
                    {"data": {"complete": True}},
                    {**auth, "Idempotency-Key": f"crash-{iid}"},
                    timeout=30,
                )
            except (OSError, http.client.HTTPException):
                return  # the server died under us: this one is unknown
            assert status == 200, (status, body)
            with lock:
                acked.add(iid)

    threads = [threading.Thread(target=client, args=(instances[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < N_INSTANCES // 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    for t in threads:
        t.join(timeout=60)
    assert len(acked) >= N_INSTANCES // 4, server.logs()
    assert len(acked) < N_INSTANCES, "the kill came too late to land mid-run"

    state = _check_consistency(url, acked)
    unknown = [iid for iid in instances if iid not in acked]
    assert unknown

    # a restarted server takes the retries: exactly one completion each
    server = Server(url, tmp_path, delay=0)
    try:
        for iid in unknown:
            status, body = server.request(
                "POST",
                f"/api/tasks/{tasks[iid]}/complete",
                {"data": {"complete": True}},
                {**auth, "Idempotency-Key": f"crash-{iid}"},
            )
            assert status == 200, (iid, status, body)
            assert bool(body.get("replayed")) == state[iid], (iid, body, state[iid])
    finally:
        server.kill()
    final = _check_consistency(url, set(instances))
    assert all(final.values())
