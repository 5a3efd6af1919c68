"""The gunicorn application ``siji serve`` starts as a child process: ``python -m api.server``.

The gunicorn master (arbiter) forks the HTTP workers, so it must run no thread of ours: a fork
taken while another thread holds a lock (SQLite's mutex, the logging lock, an import lock) copies
that lock held, and the child hangs on it. Timer workers are their own processes (engine/cli/
serve.py), migrations ran before this process started, workers never migrate, and the master
imports the application's modules but never builds the application (no preload: no service, no
database connection before a fork). ``pre_fork`` checks it before every fork and logs the
thread count, which the tests read. Each worker dies with its master (``post_fork``), so an
orphan never keeps the port. gunicorn's control socket, a thread in the master, is turned off.
"""

from __future__ import annotations

import argparse
import os
import sys

from gunicorn.app.base import BaseApplication

from engine.process import die_with_parent, exit_now, thread_count


def pre_fork(server, worker) -> None:
    threads = thread_count()
    if threads != 1:
        server.log.error(
            "siji pre_fork: master %s has %s threads; a fork now may copy a held lock", server.pid, threads
        )
    else:
        server.log.info("siji pre_fork: master %s threads=1", server.pid)


def post_fork(server, worker) -> None:
    # SIGKILL, not SIGTERM: with its master gone nobody would wait for a graceful worker, and
    # it must leave within a second (a request it was serving is retried by the client).
    die_with_parent(server.pid)


def worker_exit(server, worker) -> None:
    # Called in the worker as it leaves (and in the master after reaping one: not there). Only a
    # normal exit is shortened; an exit code gunicorn reads (boot failure) goes the usual way.
    if os.getpid() != worker.pid or not worker.booted:
        return
    exc = sys.exc_info()[1]
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        app = getattr(worker, "wsgi", None)
        service = getattr(app, "extensions", {}).get("siji") if app is not None else None
        if service is not None:
            service.db.dispose()
        exit_now(0)


class SijiGunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for k, v in self.options.items():
            self.cfg.set(k, v)

    def load(self):
        from api.app import create_app

        return create_app()


def options(bind: str, workers: int, timeout: int = 60, graceful_timeout: int = 10) -> dict:
    return {
        "bind": bind,
        "workers": max(1, workers),
        "worker_class": "sync",
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "accesslog": None,
        "preload_app": False,
        "control_socket_disable": True,
        "pre_fork": pre_fork,
        "post_fork": post_fork,
        "worker_exit": worker_exit,
        "child_exit": _child_exit,
        "proc_name": "siji-http",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m api.server", description="gunicorn master of `siji serve` (start it through `siji serve`)"
    )
    p.add_argument("--bind", required=True, help="host:port")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--graceful-timeout", type=int, default=10)
    p.add_argument(
        "--wait-fd",
        type=int,
        help="read one byte from this descriptor before binding and forking "
        "(`siji serve` writes it once the schema is migrated)",
    )
    args = p.parse_args(argv)
    from engine import logctx
    from engine.settings import Settings

    logctx.configure(Settings.from_env())  # text or JSON lines with request and case ids (SIJI_LOG_FORMAT)
    # Import (only import: no app, no service, no connection, no thread) the application's modules
    # here, once: every forked worker then starts with them loaded, so a boot or a respawn takes
    # a fraction of a second instead of seconds. pre_fork would show a thread an import started.
    import api.app  # noqa: F401

    if args.wait_fd is not None:
        go = os.read(args.wait_fd, 1)
        os.close(args.wait_fd)
        if not go:
            return 1  # the supervisor could not migrate and is leaving
    try:
        SijiGunicorn(options(args.bind, args.workers, graceful_timeout=args.graceful_timeout)).run()
    except SystemExit as e:  # gunicorn halts with its status; the master holds no connection
        exit_now(e.code if isinstance(e.code, int) else (0 if e.code is None else 1))


def _child_exit(server, worker) -> None:
    # prometheus-client's multiprocess mode: a dead worker's live gauges must not count any more
    # (its counters stay, as they should). The variable is prometheus-client's own.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
