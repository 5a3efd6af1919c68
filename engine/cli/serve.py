"""``siji serve``: a small supervisor of the service's processes.

1. Checks that the port is free and says so plainly if not (an orphan of an earlier run, or
   another instance), exit code 1.
2. Migrates the schema, once, before any HTTP or timer worker exists (they never migrate). The
   gunicorn master is already loading its modules meanwhile, and waits for the word to bind and
   fork.
3. Starts the gunicorn master as a child process by module name (``python -m api.server``: this
   package never imports ``api``), and the timer workers as their own processes (``siji worker``).
   The master forks HTTP workers, so it must run no thread of ours — which is why the timer
   worker is not a thread there (a fork copies a lock another thread holds, held).
4. Restarts a timer worker that died, with a growing pause; forwards SIGTERM/SIGINT (and SIGHUP
   to gunicorn, which reloads its workers); exits when gunicorn exits, with its exit code.

Every child gets a parent-death signal, so killing this process (even with SIGKILL) takes the
service down instead of leaving orphans holding the port.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from engine.process import set_parent_death_signal
from engine.settings import Settings

RESTART_FIRST = 0.5  # seconds before restarting a timer worker that died
RESTART_MAX = 30.0
RESTART_RESET = 60.0  # a worker that ran this long starts the back-off afresh
STOP_WAIT = 15.0  # seconds children get to stop after SIGTERM before SIGKILL
POLL = 0.1


def _say(msg: str) -> None:
    print(f"siji serve: {msg}", file=sys.stderr, flush=True)


def port_problem(host: str, port: int) -> str | None:
    """None when ``host:port`` can be bound (as gunicorn binds it, with SO_REUSEADDR), else what
    to tell the user."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"cannot listen on {host}:{port}: {e}"
    family, _t, _p, _c, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (
                    f"{host}:{port} is already in use — another `siji serve` (or an orphaned worker of "
                    f"an earlier one) or another program listens there. Stop it, or choose another "
                    f"port with SIJI_PORT."
                )
            return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None


def _child(argv: list[str], death_signal: int, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    def preexec():
        set_parent_death_signal(death_signal)

    return subprocess.Popen(argv, preexec_fn=preexec, pass_fds=pass_fds)


def migrate(settings: Settings) -> None:
    """The upgrade ``build_service(settings, migrate=True)`` runs, without loading the workflow
    engine into this small process."""
    from engine.store.db import Database
    from engine.store.migrate import upgrade

    db = Database(settings.db_url, pool_size=1)
    try:
        upgrade(db)
    finally:
        db.dispose()


@dataclass
class TimerSlot:
    index: int
    proc: subprocess.Popen | None = None
    started: float = 0.0
    delay: float = RESTART_FIRST / 2
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    settings: Settings
    workers: int
    timer_workers: int
    http: subprocess.Popen | None = None
    timers: list[TimerSlot] = field(default_factory=list)
    stopping: int | None = None  # the signal that asked us to stop

    # ------------------------------------------------------------------ children
    def start_http(self, go_fd: int) -> None:
        bind = f"{self.settings.host}:{self.settings.port}"
        self.http = _child(
            [
                sys.executable,
                "-m",
                "api.server",
                "--bind",
                bind,
                "--workers",
                str(self.workers),
                "--wait-fd",
                str(go_fd),
            ],
            signal.SIGTERM,
            pass_fds=(go_fd,),
        )
        _say(
            f"gunicorn master pid {self.http.pid} loading; it listens on http://{bind} with {self.workers} "
            f"HTTP worker(s) once the schema is migrated"
        )

    def start_timer(self, slot: TimerSlot) -> None:
        slot.proc = _child([sys.executable, "-m", "engine.cli.main", "worker"], signal.SIGTERM)
        slot.started = time.monotonic()
        slot.restart_at = None
        _say(f"timer worker {slot.index} pid {slot.proc.pid}")

    def check_timers(self) -> None:
        now = time.monotonic()
        for slot in self.timers:
            if slot.proc is not None and slot.proc.poll() is not None:
                rc = slot.proc.returncode
                if now - slot.started > RESTART_RESET:
                    slot.delay = RESTART_FIRST / 2
                slot.delay = min(slot.delay * 2, RESTART_MAX)
                slot.restart_at = now + slot.delay
                slot.proc = None
                slot.restarts += 1
                _say(f"timer worker {slot.index} exited with {rc}; restarting in {slot.delay:.1f} s")
            if slot.proc is None and slot.restart_at is not None and now >= slot.restart_at:
                self.start_timer(slot)

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum, _frame) -> None:
        if signum == signal.SIGHUP:
            if self.http is not None and self.http.poll() is None:
                self.http.send_signal(signal.SIGHUP)
            return
        if self.stopping is None:
            self.stopping = signum
            self._signal_children(signal.SIGTERM)

    def _signal_children(self, sig: int) -> None:
        for proc in [self.http, *(slot.proc for slot in self.timers)]:
            if proc is not None and proc.poll() is None:
                try:
                    proc.send_signal(sig)
                except ProcessLookupError:
                    pass

    def _stop_all(self) -> None:
        self._signal_children(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        procs = [p for p in [self.http, *(s.proc for s in self.timers)] if p is not None]
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            # The master loads its modules while the schema is migrated here; it binds and forks
            # only once told to go (EOF instead: the migration failed, it leaves).
            go_r, go_w = os.pipe()
            try:
                self.start_http(go_r)
            finally:
                os.close(go_r)
            try:
                migrate(self.settings)
            except Exception as e:
                os.close(go_w)
                url = self.settings.db_url.split("@")[-1]
                _say(f"cannot prepare the database {url}: {e.__class__.__name__}: {e}")
                return 1
            os.write(go_w, b"1")
            os.close(go_w)
            self.timers = [TimerSlot(i + 1) for i in range(self.timer_workers)]
            for slot in self.timers:
                self.start_timer(slot)
            while True:
                rc = self.http.poll()
                if rc is not None:
                    if self.stopping is None:
                        _say(f"gunicorn exited with {rc}; stopping")
                    return 0 if self.stopping is not None and rc in (0, -signal.SIGTERM) else (rc or 1)
                if self.stopping is None:
                    self.check_timers()
                time.sleep(POLL)
        finally:
            self._stop_all()


def serve(settings: Settings, workers: int | None = None, timer_workers: int | None = None) -> int:
    problem = port_problem(settings.host, settings.port)
    if problem:
        _say(problem)
        return 1
    sup = Supervisor(
        settings,
        workers if workers is not None else settings.workers,
        settings.timer_workers if timer_workers is None else timer_workers,
    )
    return sup.run()
