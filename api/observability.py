"""Per-request observability: a request id (the caller's ``X-Request-Id`` when it is sane, else a
new one; echoed in the answer) in every log line of the request, the case id when the URL names
one, and the latency and status of each endpoint counted for /metrics."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, g, request

from engine import logctx
from engine.metrics import HTTP_LATENCY, HTTP_REQUESTS

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CASE_ARGS = ("instance_id", "process_instance_id")


def install(app: Flask) -> None:
    @app.before_request
    def _begin():
        g._t0 = time.perf_counter()
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        logctx.request_id.set(g.request_id)
        case = next((request.view_args[a] for a in _CASE_ARGS if request.view_args and a in request.view_args), None)
        logctx.bind_case(case)

    @app.after_request
    def _end(response):
        endpoint = request.endpoint or "unmatched"
        HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        t0 = g.get("_t0")
        if t0 is not None:
            HTTP_LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - t0)
        if g.get("request_id"):
            response.headers["X-Request-Id"] = g.request_id
        return response
