"""/metrics answers the Prometheus text format (read back with prometheus-client's own parser):
request latency per endpoint, commands, engine step time, timers due/fired/lag, outbox backlog and
incidents; and the logs carry the request id and case id, as JSON when configured."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

from integration_helpers import Receiver, allow_local, subscribe
from prometheus_client.parser import text_string_to_metric_families
from test_api_core import GOOD_START, MINI


def scrape(siji, user="admin") -> dict[str, dict]:
    resp = siji.get("/metrics", user)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.headers["Content-Type"].startswith("text/plain")
    out: dict[str, dict] = {}
    for fam in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in fam.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value(metrics, name, **labels) -> float:
    return metrics.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def test_metrics_parse_and_move_with_the_work(siji):
    assert siji.get("/metrics").status_code == 401
    assert siji.get("/metrics", "ent_a").status_code == 403
    before = scrape(siji, "auditor")
    siji.deploy_paths(MINI)
    r = Receiver("x" * 20).start()
    r.clock = lambda: siji.clock.now().timestamp()
    try:
        allow_local(siji)
        subscribe(siji, r, secret="x" * 20)
        iid = siji.start("mini", "ent_a", GOOD_START)["id"]
        other = siji.start("mini", "ent_b", GOOD_START)["id"]
        siji.complete("bureau", iid, "Task_Review", {"complete": True})
        assert siji.post("/api/tasks/nope/claim", "bureau").status_code == 404
        m = scrape(siji)
        assert (
            value(m, "siji_commands_total", command="start", outcome="ok")
            - value(before, "siji_commands_total", command="start", outcome="ok")
            == 2
        )
        assert (
            value(m, "siji_commands_total", command="claim", outcome="refused")
            - value(before, "siji_commands_total", command="claim", outcome="refused")
            == 1
        )
        assert value(m, "siji_engine_step_seconds_count", step="complete") > value(
            before, "siji_engine_step_seconds_count", step="complete"
        )
        assert value(m, "siji_http_request_duration_seconds_count", endpoint="tasks.complete", method="POST") >= 1
        assert value(m, "siji_http_requests_total", endpoint="tasks.claim", method="POST", status="404") >= 1
        # 4 events of the ended case + 2 of the other, none delivered yet
        sub_label = [k for k in m["siji_outbox_backlog"]][0]
        assert m["siji_outbox_backlog"][sub_label] == 6
        assert value(m, "siji_timers_waiting") == 1 and value(m, "siji_timers_due") == 0
        # the review period (3 days) runs out: due, then fired late by the time the worker looks
        siji.clock.advance(timedelta(days=3, minutes=1))
        m = scrape(siji)
        assert value(m, "siji_timers_due") == 1 and value(m, "siji_timers_oldest_due_seconds") >= 60
        fired_before = value(m, "siji_timers_fired_total")
        assert siji.worker.run_once() == 1
        m = scrape(siji)
        assert value(m, "siji_timers_due") == 0
        assert value(m, "siji_timers_fired_total") - fired_before == 1
        assert value(m, "siji_timer_lag_seconds_count") >= 1 and value(m, "siji_timer_lag_seconds_sum") >= 60
        from engine.integration.delivery import Dispatcher

        Dispatcher(siji.service).run_once()
        m = scrape(siji)
        assert m["siji_outbox_backlog"][sub_label] == 0
        assert value(m, "siji_webhook_deliveries_total", outcome="delivered") >= 7
        assert value(m, "siji_incidents") == 0 and other
    finally:
        r.stop()


def test_json_logs_carry_request_and_case_ids(siji):
    from engine import logctx

    stream = io.StringIO()
    handler = logctx.configure(siji.service.settings.replace(log_format="json"), stream=stream)
    try:
        siji.deploy_paths(MINI)
        iid = siji.start("mini", "ent_a", GOOD_START)["id"]
        resp = siji.get(f"/api/process-instances/{iid}", "analyst", headers={"X-Request-Id": "req-42"})
        assert resp.status_code == 403 and resp.headers["X-Request-Id"] == "req-42"
        resp = siji.get("/api/me", "analyst", headers={"X-Request-Id": "bad id with spaces"})
        assert len(resp.headers["X-Request-Id"]) == 32  # replaced by a fresh one
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refused = [x for x in lines if "authorization refused" in x["message"]]
    assert refused and refused[0]["request_id"] == "req-42" and refused[0]["case_id"] == iid
    assert refused[0]["level"] == "WARNING" and refused[0]["logger"] == "siji.api"


def test_log_settings_are_checked():
    import pytest

    from engine.settings import Settings, SettingsError

    assert Settings.from_env({"SIJI_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="SIJI_LOG_FORMAT"):
        Settings.from_env({"SIJI_LOG_FORMAT": "xml"})
    assert Settings.from_env({"SIJI_WEBHOOK_HOSTS": " a.cn, *.b.cn "}).webhook_hosts == ("a.cn", "*.b.cn")


def test_multiprocess_mode_adds_up_the_workers_counters(tmp_path):
    """Under gunicorn each worker counts for itself; with PROMETHEUS_MULTIPROC_DIR a scrape of any
    process adds every process's counters up (two worker processes, a third one scrapes)."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    mp = tmp_path / "prom"
    mp.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(mp), PYTHONPATH=str(ROOT))
    count = (
        "from engine.metrics import HTTP_LATENCY, TIMERS_FIRED\n"
        "TIMERS_FIRED.inc(3); HTTP_LATENCY.labels('tasks.complete', 'POST').observe(0.2)\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, cwd=str(ROOT))
    scrape = (
        "from engine.service.build import build_service\nfrom engine.settings import Settings\n"
        "from engine.integration.metrics import render\n"
        f"svc = build_service(Settings(database_url='sqlite:///{tmp_path / 'm.sqlite3'}'), migrate=True)\n"
        "import sys; sys.stdout.write(render(svc).decode())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, cwd=str(ROOT), capture_output=True, text=True
    ).stdout
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(out)
        for s in fam.samples
    }
    assert samples[("siji_timers_fired_total", ())] == 6
    assert (
        samples[("siji_http_request_duration_seconds_count", (("endpoint", "tasks.complete"), ("method", "POST")))] == 2
    )
    assert samples[("siji_timers_due", ())] == 0  # the database's figures come along
