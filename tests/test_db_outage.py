"""The database going away: PostgreSQL behind a TCP proxy that the test stops (every connection
cut, new ones refused — what a restart looks like from the service) and starts again.

While it is down every request that needs the database answers 503 with a JSON body, quickly;
afterwards the same app recovers without a restart, and a client retrying a complete with the
same Idempotency-Key gets exactly one completion — whether its first attempt failed with a 503
or succeeded but its answer was lost.

The proxy only touches this test's connections, so the test runs with the rest of the suite.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from conftest import make_harness
from test_api_core import GOOD_START, MINI


class TcpProxy:
    """127.0.0.1:<port> → target, with stop() (cut every connection, refuse new ones) and start()."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", self.port))
        lst.listen(64)
        self._listener = lst
        threading.Thread(target=self._accept, args=(lst,), daemon=True).start()

    def stop(self) -> None:
        lst, self._listener = self._listener, None
        if lst is not None:
            try:
                lst.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            lst.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, lst: socket.socket) -> None:
        while True:
            try:
                client, _ = lst.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not lst:  # stopped meanwhile
                    client.close(), upstream.close()
                    return
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def proxied(pg_schema):
    parts = urlsplit(pg_schema)
    target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy = TcpProxy(target)
    proxy.start()
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{proxy.port}"
    h = make_harness(urlunsplit(parts._replace(netloc=netloc)), "postgres")
    yield h, proxy
    proxy.stop()
    h.service.db.dispose()


def test_outage_gives_503_then_full_recovery_without_duplicates(proxied):
    h, proxy = proxied
    h.deploy_paths(MINI)
    lost = h.start("mini", "ent_a", GOOD_START)["id"]
    failed = h.start("mini", "ent_b", GOOD_START)["id"]
    lost_task = h.task_for("bureau", lost, "Task_Review")["id"]
    failed_task = h.task_for("bureau", failed, "Task_Review")["id"]
    body = {"data": {"complete": True}}

    # 1. a complete succeeds but its answer is "lost": the client will retry it after the outage
    first = h.ok(
        h.post(f"/api/tasks/{lost_task}/complete", "bureau", json=body, headers={"Idempotency-Key": "retry-lost"})
    )
    assert first.get("replayed") is not True

    # 2. the database goes away
    proxy.stop()
    for url in ("/api/health", "/api/tasks", f"/api/process-instances/{failed}"):
        t0 = time.perf_counter()
        resp = h.get(url, "bureau")
        assert resp.status_code == 503, (url, resp.status_code, resp.get_data(as_text=True)[:300])
        assert time.perf_counter() - t0 < 10
        body_ = resp.get_json()
        assert body_["error"] == "unavailable" and "message" in body_, body_
    resp = h.post(f"/api/tasks/{failed_task}/complete", "bureau", json=body, headers={"Idempotency-Key": "retry-503"})
    assert resp.status_code == 503 and resp.get_json()["error"] == "unavailable"
    assert "retry" in resp.get_json()["message_en"]
    resp = h.post(f"/api/tasks/{lost_task}/complete", "bureau", json=body, headers={"Idempotency-Key": "retry-lost"})
    assert resp.status_code == 503

    # 3. it comes back: the same app recovers
    proxy.start()
    assert h.ok(h.get("/api/health"))["database"] == "ok"
    retried = h.ok(
        h.post(f"/api/tasks/{failed_task}/complete", "bureau", json=body, headers={"Idempotency-Key": "retry-503"})
    )
    assert retried.get("replayed") is not True and retried["status"] == "completed"
    again = h.ok(
        h.post(f"/api/tasks/{failed_task}/complete", "bureau", json=body, headers={"Idempotency-Key": "retry-503"})
    )
    assert again["replayed"] is True
    replay = h.ok(
        h.post(f"/api/tasks/{lost_task}/complete", "bureau", json=body, headers={"Idempotency-Key": "retry-lost"})
    )
    assert replay["replayed"] is True and replay["task_id"] == first["task_id"]

    for iid in (lost, failed):
        assert h.completed_activities(iid) == ["Task_Review"]  # exactly one completion each
        assert h.instance(iid)["status"] == "completed"
    from sqlalchemy import select

    from engine.audit.chain import verify_instance
    from engine.store.models import Instance

    with h.service.db.read() as s:
        for inst in s.scalars(select(Instance)):
            assert verify_instance(s, inst) == (True, None)


def test_outage_during_a_burst_loses_and_duplicates_nothing(proxied):
    """Clients keep completing (with retries on 503 / connection errors) while the database
    flaps twice; every task ends completed exactly once."""
    h, proxy = proxied
    h.deploy_paths(MINI)
    instances = [h.start("mini", "ent_a", GOOD_START)["id"] for _ in range(8)]
    tasks = {iid: h.task_for("bureau", iid, "Task_Review")["id"] for iid in instances}
    outcomes: dict[int, list[int]] = {iid: [] for iid in instances}

    def client(iids):
        c = h.app.test_client()
        for iid in iids:
            for _attempt in range(200):
                r = c.post(
                    f"/api/tasks/{tasks[iid]}/complete",
                    json={"data": {"complete": True}},
                    headers=h.headers("bureau", {"Idempotency-Key": f"burst-{iid}"}),
                )
                outcomes[iid].append(r.status_code)
                if r.status_code == 200:
                    break
                assert r.status_code in (503, 409), (r.status_code, r.get_data(as_text=True)[:300])
                time.sleep(0.02)

    threads = [threading.Thread(target=client, args=(instances[i::2],)) for i in range(2)]
    proxy.stop()  # the first attempts meet a dead database
    for t in threads:
        t.start()
    time.sleep(0.3)
    proxy.start()
    time.sleep(0.05)
    proxy.stop()  # and again in the middle of the burst
    time.sleep(0.3)
    proxy.start()
    for t in threads:
        t.join(timeout=120)
    assert any(503 in codes for codes in outcomes.values()), outcomes
    for iid in instances:
        assert outcomes[iid][-1] == 200, (iid, outcomes[iid])
        assert h.completed_activities(iid) == ["Task_Review"], (iid, h.trace(iid))
