"""``siji serve``: gunicorn (sync workers; 1–2 on 2 cores beat threads here) with the timer worker
embedded in the arbiter process."""
from __future__ import annotations

import os

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict, embedded_worker: bool):
        self.options = options
        self.embedded_worker = embedded_worker
        super().__init__()

    def load_config(self):
        for k, v in self.options.items():
            self.cfg.set(k, v)
        if self.embedded_worker:
            self.cfg.set("when_ready", _start_worker)
        self.cfg.set("child_exit", _child_exit)

    def load(self):
        from api.app import create_app
        return create_app()


def _start_worker(server) -> None:
    from engine.cli.main import _service
    from engine.timers.worker import TimerWorker
    worker = TimerWorker(_service(migrate=False), name="embedded")
    worker.start_thread()
    server.log.info("embedded timer worker started")


def _child_exit(server, worker) -> None:
    # prometheus-client's multiprocess mode: a dead worker's live gauges must not count any more
    # (its counters stay, as they should). The variable is prometheus-client's own.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def serve(embedded_worker: bool = True, workers: int = 2) -> int:
    from engine import logctx
    from engine.settings import Settings
    logctx.configure(Settings.from_env())    # text or JSON lines with request and case ids (SIJI_LOG_FORMAT)
    host = os.environ.get("SIJI_HOST", "127.0.0.1")
    port = int(os.environ.get("SIJI_PORT", "8080"))
    from engine.cli.main import _service
    _service()  # create or upgrade the schema once, before any worker starts
    options = {"bind": f"{host}:{port}", "workers": max(1, workers), "worker_class": "sync",
               "timeout": 60, "graceful_timeout": 10, "accesslog": None, "preload_app": False}
    _Gunicorn(options, embedded_worker).run()
    return 0
