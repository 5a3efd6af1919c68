"""Test harness: a real database (SQLite file or a fresh PostgreSQL schema), the real Flask app
through its test client, and an injected clock that tests move instead of sleeping."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.clock import FixedClock

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("SIJI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SIJI_REQUIRE_POSTGRES") == "1"
T0 = datetime(2025, 9, 26, 2, 0, tzinfo=UTC)  # a Friday, 10:00 in China

_pg_ok: bool | None = None


def postgres_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            import psycopg

            with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
                _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema, dropped afterwards; yields the URL that uses it."""
    if not postgres_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (SIJI_REQUIRE_POSTGRES=1) but unreachable at {PG_URL}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL} (set SIJI_TEST_POSTGRES_URL)")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    raw = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _pg_schema_url(schema)
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def db_url_for(backend: str, tmp_path: Path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'siji.sqlite3'}"
    return request.getfixturevalue("pg_schema")


@dataclass
class Harness:
    app: object
    client: object
    service: object
    clock: FixedClock
    worker: object
    backend: str
    tokens: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- HTTP helpers
    def headers(self, user: str | None, extra: dict | None = None) -> dict:
        h = {}
        if user is not None:
            h["Authorization"] = f"Bearer {self.tokens[user]}"
        if extra:
            h.update(extra)
        return h

    def get(self, url, user=None, **kw):
        return self.client.get(url, headers=self.headers(user, kw.pop("headers", None)), **kw)

    def post(self, url, user=None, json=None, **kw):
        return self.client.post(url, headers=self.headers(user, kw.pop("headers", None)), json=json, **kw)

    def ok(self, resp, status=200):
        assert resp.status_code == status, f"{resp.status_code}: {resp.get_data(as_text=True)[:2000]}"
        return resp.get_json()

    # ---------------------------------------------------------------- domain helpers
    def add_user(self, username: str, roles: list[str], pair_with: list[str] | None = None) -> str:
        from sqlalchemy import select

        from engine.service.users import create_user, issue_token, pair
        from engine.store.models import User

        with self.service.db.write() as s:
            user = create_user(s, username, roles, self.clock.now(), username)
            for other in pair_with or []:
                peer = s.scalar(select(User).where(User.username == other))
                pair(s, user, peer)
            token = issue_token(s, user, self.clock.now())
        self.tokens[username] = token
        return token

    def deploy_paths(self, *paths, user="analyst", expect=201):
        from engine.cli.main import collect_files

        files = collect_files([str(p) for p in paths])
        data = {f"file{i}": (__import__("io").BytesIO(f.data), f.name) for i, f in enumerate(files)}
        resp = self.client.post(
            "/api/deployments", headers=self.headers(user), data=data, content_type="multipart/form-data"
        )
        assert resp.status_code == expect, resp.get_data(as_text=True)[:3000]
        return resp.get_json()

    def deploy_files(self, files: dict[str, bytes], user="analyst"):
        import io

        data = {f"file{i}": (io.BytesIO(content), name) for i, (name, content) in enumerate(files.items())}
        return self.client.post(
            "/api/deployments", headers=self.headers(user), data=data, content_type="multipart/form-data"
        )

    def start(self, process_key, user, variables=None, business_key=None, expect=201, **extra):
        body = {"process_key": process_key, "variables": variables or {}}
        if business_key:
            body["business_key"] = business_key
        body.update(extra)
        resp = self.post("/api/process-instances", user, json=body)
        assert resp.status_code == expect, resp.get_data(as_text=True)[:3000]
        return resp.get_json()

    def inbox(self, user, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return self.ok(self.get(f"/api/tasks?per_page=500&{q}", user))["items"]

    def task_for(self, user, instance_id, activity_id):
        tasks = [t for t in self.inbox(user, process_instance_id=instance_id) if t["activity_id"] == activity_id]
        assert len(tasks) == 1, (
            f"{user} sees {[(t['activity_id'], t['role']) for t in self.inbox(user, process_instance_id=instance_id)]}"
        )
        return tasks[0]

    def complete(self, user, instance_id, activity_id, data=None, expect=200):
        task = self.task_for(user, instance_id, activity_id)
        self.check_ready_data(task["id"])
        resp = self.post(f"/api/tasks/{task['id']}/complete", user, json={"data": data or {}})
        assert resp.status_code == expect, resp.get_data(as_text=True)[:3000]
        return task

    def check_ready_data(self, task_id: str) -> None:
        """The task page reads a ready task's data straight from the saved state; in every flow
        scenario it must equal what the restored workflow holds for that task."""
        from engine.store.models import Instance, Task

        svc = self.service
        with svc.db.read() as s:
            task = s.get(Task, task_id)
            inst = s.get(Instance, task.instance_id)
            pv = svc.version(s, inst.version_id)
            state = inst.state
        snap = {ut.id: ut.data for ut in svc.engine.snapshot(pv, state).user_tasks}
        assert task_id in snap
        assert svc.engine.ready_task_data(state, task_id) == snap[task_id]

    def check_index_columns(self, instance_id: int | None = None) -> None:
        """Commands write task rows with Core statements, not through the ORM hook that derives
        the inbox's index columns: every row must still carry the right ones."""
        from sqlalchemy import select

        from engine.store.models import NO_DUE, Task, task_audience

        with self.service.db.read() as s:
            q = select(Task) if instance_id is None else select(Task).where(Task.instance_id == instance_id)
            for t in s.scalars(q):
                assert t.audience == task_audience(t.reserved_for_id, t.role), (t.id, t.audience)
                assert t.sort_due == (t.due_at or NO_DUE), (t.id, t.due_at, t.sort_due)

    def instance(self, instance_id, user="auditor"):
        return self.ok(self.get(f"/api/process-instances/{instance_id}", user))

    def advance(self, delta: timedelta) -> int:
        """Move the clock and let the worker fire whatever became due. Returns timers fired."""
        self.clock.advance(delta)
        fired = 0
        while True:
            n = self.worker.run_once()
            fired += n
            if n == 0:
                break
        self.check_index_columns()
        return fired

    def trace(self, instance_id):
        from sqlalchemy import select

        from engine.store.models import AuditEvent

        with self.service.db.read() as s:
            return [
                (e.transition, e.activity_id, e.actor, e.role)
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
                )
            ]

    def completed_activities(self, instance_id):
        return [a for (t, a, _, _) in self.trace(instance_id) if t == "complete"]


BASE_USERS = {
    "analyst": ["analyst"],
    "auditor": ["auditor"],
    "admin": ["admin"],
    "ent_a": ["applicant"],
    "ent_b": ["applicant"],
    "bureau": ["approval_bureau"],
    "fire": ["fire_rescue"],
    "housing": ["housing_construction"],
}


def make_harness(url: str, backend: str, config: dict | None = None, start: datetime = T0) -> Harness:
    from api.app import create_app
    from engine.service.build import build_service
    from engine.settings import Settings
    from engine.timers.worker import TimerWorker

    clock = FixedClock(start)
    svc = build_service(Settings(database_url=url), clock=clock, migrate=True)
    app = create_app({"TESTING": True, **(config or {})}, service=svc)
    worker = TimerWorker(svc, name="test")
    h = Harness(app, app.test_client(), svc, clock, worker, backend)
    for name, roles in BASE_USERS.items():
        h.add_user(name, roles)
    return h


def pytest_collection_modifyitems(config, items):
    """Markers by what a test touches, so ``./tools/test -m "not browser"`` (or ``not pg``,
    ``not slow``) selects without a list to keep up to date: ``pg`` for every test on PostgreSQL,
    ``browser`` for the page tests (Chromium), ``slow`` for the modules that start real server
    and worker processes."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "pg_schema" in item.fixturenames or "postgres" in params.values():
            item.add_marker(pytest.mark.pg)
        module = item.module.__name__ if item.module else ""
        if module.startswith("test_pages"):
            item.add_marker(pytest.mark.browser)
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


SLOW_MODULES = {"test_crash_safety", "test_timer_workers", "test_db_outage", "test_fuzz_api", "test_serve"}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def siji(backend, tmp_path, request):
    h = make_harness(db_url_for(backend, tmp_path, request), backend)
    yield h
    h.service.db.dispose()


@pytest.fixture
def siji_sqlite(tmp_path):
    h = make_harness(f"sqlite:///{tmp_path / 'siji.sqlite3'}", "sqlite")
    yield h
    h.service.db.dispose()
