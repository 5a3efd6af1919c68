"""The connector worker: performs the HTTP calls service tasks wait for, outside any transaction.

A service task through a connector stops the engine like a user task (engine/workflow/
service_tasks.py); its task row has the role ``connector``. The worker leases the call
(``connector_jobs``, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a lease so a dead worker's call is
taken over), evaluates the inputs against the case data, calls the endpoint with the connector's
timeout and retries (back-off doubling), and then completes the task with the mapped outputs in
one command (engine/service/connector_steps.py) — the case moves on, or, if anything failed, is
left exactly as it was: a call that still fails after its retries (or an answer without a mapped
output) records an incident and parks the job as ``failed`` until an admin retries it
(``POST /api/incidents/<id>/retry``). It runs in ``siji dispatch`` next to the webhook dispatcher.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import timedelta
from urllib.parse import quote

import requests
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine import logctx
from engine.audit.chain import record_standalone
from engine.connectors import Connector
from engine.integration import outbound
from engine.metrics import CONNECTOR_CALLS
from engine.service.actor import Actor
from engine.service.connector_steps import complete_connector_task
from engine.service.errors import Conflict, Invalid, NotFound, StepFailed
from engine.service.incidents import record_incident
from engine.store.models import ConnectorJob, Incident, Instance, Task
from engine.workflow.runtime import EngineError
from engine.workflow.service_tasks import CONNECTOR_ROLE, evaluate

log = logging.getLogger("siji.connectors")
BATCH = 20
BODY_METHODS = ("POST", "PUT", "PATCH")


class CallFailed(Exception):
    pass


def call(connector: Connector, inputs: dict, sleep=time.sleep) -> tuple[dict, dict]:
    """Call ``connector`` with ``inputs``; retries per its settings. Returns (answer JSON, summary
    for the trace). Raises CallFailed with the last error."""
    fields = connector.placeholders()
    missing = [f for f in fields if f not in inputs]
    if missing:
        raise CallFailed(f"inputs missing for the URL: {', '.join(missing)}")
    url = connector.url.format(**{f: quote(str(inputs[f]), safe="") for f in fields})
    rest = {k: v for k, v in inputs.items() if k not in fields}
    body = json.dumps(rest, ensure_ascii=False).encode() if connector.method in BODY_METHODS else None
    headers = dict(connector.headers)
    if body is not None:
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    error = ""
    t0 = time.perf_counter()
    for attempt in range(connector.retries + 1):
        if attempt:
            sleep(connector.backoff * 2 ** (attempt - 1))
        try:
            resp = outbound.send(
                connector.method,
                url,
                connector.allowed_hosts,
                body=body,
                headers=headers,
                params=None if body is not None else rest,
                timeout=connector.timeout,
            )
        except requests.RequestException as e:
            error = f"{e.__class__.__name__}: {str(e)[:300]}"
            continue
        except Invalid as e:
            raise CallFailed(e.message_en) from None
        if 200 <= resp.status_code < 300:
            try:
                answer = resp.json() if resp.content else {}
            except ValueError:
                raise CallFailed(f"HTTP {resp.status_code}: the answer is not JSON") from None
            summary = {
                "connector": connector.name,
                "method": connector.method,
                "url": url.split("?")[0],
                "status": resp.status_code,
                "attempts": attempt + 1,
                "duration_ms": round((time.perf_counter() - t0) * 1000),
            }
            return answer if isinstance(answer, dict) else {"value": answer}, summary
        error = f"HTTP {resp.status_code}: {resp.text[:300]}"
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
            break  # the request is wrong: trying again cannot help
    raise CallFailed(f"{connector.name}: {error} (after {attempt + 1} tries)")


class ConnectorWorker:
    def __init__(self, service, name: str | None = None, sleep=time.sleep):
        self.service = service
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:c{id(self):x}"[:80]
        self.sleep = sleep

    def run_once(self) -> int:
        """Make every call that is due. Returns how many cases moved on."""
        done = 0
        for job in self._lease(self._waiting()):
            done += self._run(job)
        return done

    def _waiting(self) -> list[tuple[str, int, str]]:
        now = self.service.now()
        j = ConnectorJob
        q = (
            select(Task.id, Task.instance_id, Task.activity_id)
            .outerjoin(j, j.task_id == Task.id)
            .where(
                Task.state == "open",
                Task.role == CONNECTOR_ROLE,
                or_(
                    j.task_id.is_(None), and_(j.status == "pending", or_(j.lease_until.is_(None), j.lease_until < now))
                ),
            )
            .order_by(Task.created_at)
            .limit(BATCH)
        )
        with self.service.db.read() as s:
            return [tuple(r) for r in s.execute(q)]

    def _lease(self, waiting) -> list[ConnectorJob]:
        if not waiting:
            return []
        db, now = self.service.db, self.service.now()
        insert = pg_insert if db.is_postgres else sqlite_insert
        with db.write() as s:
            names = {}
            for tid, iid, aid in waiting:
                inst = s.get(Instance, iid)
                st = (self.service.version(s, inst.version_id).resources.get("service_tasks") or {}).get(aid) or {}
                names[tid] = st.get("connector", "?")
            s.execute(
                insert(ConnectorJob.__table__)
                .values(
                    [
                        dict(task_id=tid, instance_id=iid, connector=names[tid], status="pending", attempts=0)
                        for tid, iid, _aid in waiting
                    ]
                )
                .on_conflict_do_nothing(index_elements=["task_id"])
            )
            q = select(ConnectorJob).where(
                ConnectorJob.task_id.in_([w[0] for w in waiting]),
                ConnectorJob.status == "pending",
                or_(ConnectorJob.lease_until.is_(None), ConnectorJob.lease_until < now),
            )
            if db.is_postgres:
                q = q.with_for_update(skip_locked=True)
            jobs = s.scalars(q).all()
            for job in jobs:
                conn = self.service.connectors.get(job.connector)
                budget = (conn.timeout * (conn.retries + 1) + conn.backoff * 2**conn.retries) if conn else 0
                job.lease_owner, job.lease_until = self.name, now + timedelta(seconds=budget + 30)
            return jobs

    def _run(self, job: ConnectorJob) -> int:
        svc = self.service
        logctx.bind_case(job.instance_id)
        with svc.db.read() as s:
            task = s.get(Task, job.task_id)
            inst = s.get(Instance, job.instance_id)
            pv = svc.version(s, inst.version_id)
            state = inst.state
        spec = (pv.resources.get("service_tasks") or {}).get(task.activity_id) or {}
        data = svc.engine.ready_task_data(state, job.task_id)
        if data is None or task.state != "open":
            self._forget(job)
            return 0
        connector = svc.connectors.get(job.connector)
        try:
            if connector is None:
                raise CallFailed(f"connector '{job.connector}' is no longer in the registry (SIJI_CONNECTORS)")
            try:
                inputs = evaluate(spec.get("inputs") or {}, data)
            except KeyError as e:
                raise CallFailed(f"input needs case variable {e.args[0]!r}, which the case does not have") from None
            answer, summary = call(connector, inputs, self.sleep)
            try:
                outputs = evaluate(spec.get("outputs") or {}, answer)
            except KeyError as e:
                raise CallFailed(f"{job.connector}: the answer has no {e.args[0]!r} for an output") from None
        except CallFailed as e:
            CONNECTOR_CALLS.labels(job.connector, "failed").inc()
            self._fail(job, task, pv, str(e))
            return 0
        CONNECTOR_CALLS.labels(job.connector, "ok").inc()
        try:
            moved = complete_connector_task(
                svc, job.task_id, outputs, dict(summary, outputs=sorted(outputs)), retried_by=job.retried_by
            )
        except StepFailed:  # the step after the call failed: an incident is recorded
            self._park(job, "the engine step after the call failed", self._latest_incident(job.instance_id))
            return 0
        self._forget(job)
        return 1 if moved else 0

    def _fail(self, job: ConnectorJob, task: Task, pv, message: str) -> None:
        log.warning("connector call for task %s failed: %s", job.task_id, message)
        err = EngineError(message, task.activity_id, pv.element_name(task.activity_id))
        record_incident(self.service, job.instance_id, pv.key, err, "connector", None, task_id=job.task_id)
        self._park(job, message, self._latest_incident(job.instance_id))

    def _latest_incident(self, instance_id: int) -> int | None:
        with self.service.db.read() as s:
            return s.scalar(
                select(Incident.id).where(Incident.instance_id == instance_id).order_by(Incident.id.desc()).limit(1)
            )

    def _park(self, job: ConnectorJob, message: str, incident_id: int | None) -> None:
        with self.service.db.write() as s:
            s.execute(
                update(ConnectorJob)
                .where(ConnectorJob.task_id == job.task_id, ConnectorJob.lease_owner == self.name)
                .values(
                    status="failed",
                    attempts=ConnectorJob.attempts + 1,
                    last_error=message[:2000],
                    incident_id=incident_id,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def _forget(self, job: ConnectorJob) -> None:
        with self.service.db.write() as s:
            s.execute(ConnectorJob.__table__.delete().where(ConnectorJob.task_id == job.task_id))


def retry_incident(service, actor: Actor, incident_id: int) -> dict:
    """An admin's retry of a failed connector call: the job is pending again (audited). The
    incident stays open until the call and the step after it succeed (then ``retried``, in this
    admin's name); a call that fails again records a new incident and leaves this one open."""
    now = service.now()
    with service.db.write() as s:
        if s.get(Incident, incident_id) is None:
            raise NotFound("没有该故障记录", "no such incident")
        job = s.scalar(select(ConnectorJob).where(ConnectorJob.incident_id == incident_id))
        if job is None or job.status != "failed":
            raise Conflict(
                "该故障不是可重试的连接器调用", "this incident is not a failed connector call waiting for a retry"
            )
        job.status, job.lease_owner, job.lease_until = "pending", None, None
        job.retried_by = actor.username
        record_standalone(
            s,
            now,
            "connector_retried",
            actor.username,
            None,
            {
                "incident_id": incident_id,
                "task_id": job.task_id,
                "connector": job.connector,
                "process_instance_id": job.instance_id,
            },
        )
        return {
            "incident_id": incident_id,
            "task_id": job.task_id,
            "process_instance_id": job.instance_id,
            "connector": job.connector,
            "status": job.status,
        }
