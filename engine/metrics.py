"""The service's Prometheus metrics, defined once (kernel: every room may count into them).

Counters and histograms live in the process that counts; under gunicorn each worker has its own,
and prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, see docs/INTEGRATION.md)
adds them up at scrape time. What the database knows (timers due, outbox backlog, dead letters,
incidents) is read at scrape time instead (engine/integration/metrics.py), so every process
answers the same figure.
"""

from __future__ import annotations

import functools
import time

from prometheus_client import Counter, Histogram

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_LATENCY = Histogram(
    "siji_http_request_duration_seconds", "HTTP request latency by endpoint", ["endpoint", "method"], buckets=_FAST
)
HTTP_REQUESTS = Counter(
    "siji_http_requests_total", "HTTP requests by endpoint and status", ["endpoint", "method", "status"]
)
COMMANDS = Counter("siji_commands_total", "Commands by name and outcome (ok, refused, failed)", ["command", "outcome"])
COMMAND_SECONDS = Histogram(
    "siji_command_duration_seconds", "Command duration (one transaction)", ["command"], buckets=_FAST
)
ENGINE_STEP_SECONDS = Histogram(
    "siji_engine_step_seconds", "SpiffWorkflow step time (no database)", ["step"], buckets=_FAST
)
TIMERS_FIRED = Counter("siji_timers_fired_total", "Timers fired by the timer workers")
TIMER_LAG = Histogram(
    "siji_timer_lag_seconds",
    "How late a due timer was fired (service time)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
WEBHOOK_DELIVERIES = Counter(
    "siji_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, failed, dead)", ["outcome"]
)
CONNECTOR_CALLS = Counter(
    "siji_connector_calls_total", "Service-task connector calls by connector and outcome", ["connector", "outcome"]
)


def engine_step(step: str):
    """Time an engine step (SpiffWorkflow work, no database)."""

    def wrap(method):
        @functools.wraps(method)
        def inner(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                ENGINE_STEP_SECONDS.labels(step).observe(time.perf_counter() - t0)

        return inner

    return wrap
