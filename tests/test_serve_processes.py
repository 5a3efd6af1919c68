"""`siji serve` as real processes on SQLite: the supervisor, the gunicorn master it starts, the
HTTP workers the master forks and the timer worker process.

- Fork safety, deterministically: the master logs its OS thread count (/proc/self/task) before
  every fork (``pre_fork``); every line must say threads=1 — a second thread at a fork is what
  copied SQLite's mutex held and hung starts before.
- Starts and respawns, by repetition too: SIJI_TEST_SERVE_STARTS (default 100) consecutive starts,
  each on a fresh copy of a database with 200+ due timers (the timer worker fires them while the
  HTTP worker boots), must each serve /api/health within 15 s; SIJI_TEST_SERVE_RESPAWNS (default
  100) HTTP workers SIGKILLed one after another must each be replaced by one that serves.
- The master SIGKILLed: its workers leave within 1 s and a new start succeeds. The supervisor
  SIGKILLed: the whole service goes. A taken port: a clear message and exit code 1. A timer
  worker SIGKILLed: the supervisor starts another.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import DATA, ROOT, make_harness

from engine.process import alive, children, cmdline

STARTS = int(os.environ.get("SIJI_TEST_SERVE_STARTS", "100"))
RESPAWNS = int(os.environ.get("SIJI_TEST_SERVE_RESPAWNS", "100"))
SERVE_WITHIN = 15.0
BOUNDARY_CASES = 110  # two due timers each: the timer worker fires them at every start
BROKEN_CASES = 100  # one due timer each whose firing fails: due for the whole test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A SQLite database with 2×BOUNDARY_CASES + BROKEN_CASES timers already due."""
    path = tmp_path_factory.mktemp("pristine") / "siji.sqlite3"
    h = make_harness(f"sqlite:///{path}", "sqlite", start=datetime.now(UTC) - timedelta(days=10))
    h.deploy_paths(DATA / "timers" / "tm_boundary")
    h.deploy_paths(DATA / "timers" / "tm_broken")
    for _ in range(BOUNDARY_CASES):
        h.start("tm_boundary", "ent_a")
    for _ in range(BROKEN_CASES):
        h.start("tm_broken", "ent_a")
    h.service.db.dispose()
    return path


def due_timers(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as c:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return c.execute("SELECT count(*) FROM timers WHERE status = 'waiting' AND due_at < ?", (now,)).fetchone()[0]


class Serve:
    """One `siji serve` process tree."""

    def __init__(self, db: Path, tmp: Path, port: int | None = None, workers: int = 1, timer_workers: int = 1):
        self.port = port or free_port()
        self.log_path = tmp / f"serve-{self.port}-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "SIJI_DATABASE_URL": f"sqlite:///{db}",
            "SIJI_PORT": str(self.port),
            "SIJI_HOST": "127.0.0.1",
            "SIJI_INSTANCE_DIR": str(tmp / "instance"),
            "SIJI_TIMER_WORKERS": str(timer_workers),
        }
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "serve", "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def health(self, timeout: float = 2.0) -> int | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=timeout) as r:
                return r.status
        except OSError:
            return None

    def wait_serving(self, within: float = SERVE_WITHIN) -> float:
        """Seconds from the start until /api/health answered 200."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < within:
            if self.proc.poll() is not None:
                raise AssertionError(f"siji serve exited with {self.proc.returncode}:\n{self.logs()}")
            if self.health() == 200:
                return time.monotonic() - self.started
            time.sleep(0.05)
        raise AssertionError(f"not serving within {within} s:\n{self.logs()}")

    def master(self) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for pid in children(self.proc.pid):
                if "api.server" in cmdline(pid):
                    return pid
            time.sleep(0.02)
        raise AssertionError(f"no gunicorn master under {self.proc.pid}:\n{self.logs()}")

    def timer_workers(self) -> list[int]:
        return [p for p in children(self.proc.pid) if " worker" in cmdline(p) and "engine.cli.main" in cmdline(p)]

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """Safety net: whatever is left of this tree's session."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if not self.log.closed:
            self.log.close()

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]


def fork_lines(text: str) -> list[int]:
    """The master's thread count at each fork, from its pre_fork lines."""
    counts = [int(n) for n in re.findall(r"siji pre_fork: master \d+ threads=(\d+)", text)]
    counts += [int(n) for n in re.findall(r"siji pre_fork: master \d+ has (\d+) threads", text)]
    return counts


def fresh_copy(pristine: Path, tmp: Path) -> Path:
    db = tmp / "siji.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copyfile(pristine, db)
    return db


# ---------------------------------------------------------------------------- fork safety
def test_master_runs_no_thread_at_any_fork(pristine, tmp_path):
    """Deterministic: each fork (2 at start, one per respawn) happens with threads=1 in the
    master, even with the timer worker firing hundreds of due timers meanwhile."""
    db = fresh_copy(pristine, tmp_path)
    server = Serve(db, tmp_path, workers=2)
    try:
        server.wait_serving()
        master = server.master()
        for _ in range(3):
            victim = children(master)[0]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + SERVE_WITHIN
            while not (len(children(master)) == 2 and victim not in children(master)):
                assert time.monotonic() < deadline, server.logs()
                time.sleep(0.05)
        assert server.timer_workers(), "no timer worker process"
        assert server.stop() == 0, server.logs()
    finally:
        server.kill()
    text = server.log_path.read_text(errors="replace")
    assert fork_lines(text) == [1] * 5, text[-4000:]
    assert "Booting worker" in text and "Worker failed to boot" not in text


# ---------------------------------------------------------------------------- repetition
@pytest.mark.slow
def test_consecutive_starts_each_serve_within_15s(pristine, tmp_path):
    assert due_timers(pristine) >= 200
    times, stops = [], []
    for i in range(STARTS):
        db = fresh_copy(pristine, tmp_path)
        server = Serve(db, tmp_path)
        try:
            times.append(server.wait_serving())
            t_stop = time.monotonic()
            rc = server.stop()
            stops.append(time.monotonic() - t_stop)
            assert rc == 0, f"start {i}: exit {rc}\n{server.logs()}"
        finally:
            server.kill()
        text = server.log_path.read_text(errors="replace")
        assert fork_lines(text) and set(fork_lines(text)) == {1}, f"start {i}:\n{text[-4000:]}"
    times.sort()
    stops.sort()
    print(
        f"\n{STARTS} starts: serving after median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s; "
        f"stopped after median {stops[len(stops) // 2]:.2f} s, max {stops[-1]:.2f} s"
    )
    assert len(times) == STARTS


@pytest.mark.slow
def test_killed_http_workers_are_replaced_by_ones_that_serve(pristine, tmp_path):
    db = fresh_copy(pristine, tmp_path)
    server = Serve(db, tmp_path, workers=1)
    waits = []
    try:
        server.wait_serving()
        master = server.master()
        for i in range(RESPAWNS):
            assert due_timers(db) >= BROKEN_CASES
            (victim,) = children(master)
            os.kill(victim, signal.SIGKILL)
            t0 = time.monotonic()
            while True:  # the only worker was killed: a 200 now comes from its replacement
                kids = children(master)
                if kids and victim not in kids and server.health(timeout=SERVE_WITHIN) == 200:
                    break
                assert time.monotonic() - t0 < SERVE_WITHIN, f"respawn {i}:\n{server.logs()}"
                time.sleep(0.02)
            waits.append(time.monotonic() - t0)
        assert server.stop() == 0, server.logs()
    finally:
        server.kill()
    text = server.log_path.read_text(errors="replace")
    assert fork_lines(text) == [1] * (RESPAWNS + 1), text[-4000:]
    waits.sort()
    print(f"\n{RESPAWNS} respawns: median {waits[len(waits) // 2]:.2f} s, max {waits[-1]:.2f} s")


# ---------------------------------------------------------------------------- deaths
def test_master_sigkilled_its_workers_leave_within_a_second_and_a_restart_serves(pristine, tmp_path):
    db = fresh_copy(pristine, tmp_path)
    port = free_port()
    server = Serve(db, tmp_path, port=port, workers=2)
    try:
        server.wait_serving()
        master = server.master()
        workers = children(master)
        assert len(workers) == 2
        os.kill(master, signal.SIGKILL)
        t0 = time.monotonic()
        while any(alive(p) for p in workers):
            assert time.monotonic() - t0 < 1.0, f"workers {[p for p in workers if alive(p)]} outlived their master"
            time.sleep(0.01)
        # the supervisor follows gunicorn out, taking its timer worker along
        assert server.proc.wait(timeout=20) != 0
        assert not server.timer_workers()
    finally:
        server.kill()
    again = Serve(db, tmp_path, port=port)
    try:
        again.wait_serving()
        assert again.stop() == 0, again.logs()
    finally:
        again.kill()


def test_supervisor_sigkilled_takes_the_service_down(pristine, tmp_path):
    db = fresh_copy(pristine, tmp_path)
    port = free_port()
    server = Serve(db, tmp_path, port=port, workers=2)
    try:
        server.wait_serving()
        master = server.master()
        tree = [master, *children(master), *server.timer_workers()]
        assert len(tree) == 4
        os.kill(server.proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        while any(alive(p) for p in tree):
            assert time.monotonic() - t0 < 15, [(p, cmdline(p)) for p in tree if alive(p)]
            time.sleep(0.05)
        print(f"\nservice gone {time.monotonic() - t0:.2f} s after its supervisor was SIGKILLed")
    finally:
        server.kill()
    again = Serve(db, tmp_path, port=port)
    try:
        again.wait_serving()
        assert again.stop() == 0
    finally:
        again.kill()


def test_a_taken_port_is_named_and_exits_1(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {
            **os.environ,
            "SIJI_DATABASE_URL": f"sqlite:///{tmp_path / 'siji.sqlite3'}",
            "SIJI_PORT": str(port),
            "SIJI_HOST": "127.0.0.1",
            "SIJI_INSTANCE_DIR": str(tmp_path / "instance"),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli.main", "serve"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert f"127.0.0.1:{port} is already in use" in proc.stderr
    assert "orphan" in proc.stderr and "SIJI_PORT" in proc.stderr
    assert "Booting worker" not in proc.stderr + proc.stdout  # nothing was started


def test_a_dead_timer_worker_is_restarted(pristine, tmp_path):
    db = fresh_copy(pristine, tmp_path)
    server = Serve(db, tmp_path)
    try:
        server.wait_serving()
        deadline = time.monotonic() + 10
        while not server.timer_workers():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (first,) = server.timer_workers()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while not [p for p in server.timer_workers() if p != first and alive(p)]:
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.05)
        assert "timer worker 1 exited with -9; restarting" in server.logs()
        assert server.stop() == 0
    finally:
        server.kill()
