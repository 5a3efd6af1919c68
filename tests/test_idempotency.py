"""Idempotency under real concurrency: requests with one Idempotency-Key sent while the first is
still running wait for it and answer what it answered (200, marked replayed), on SQLite and
PostgreSQL. The requests run in threads through the app's test client; the test holds the case
(its row lock on PostgreSQL, the write lock on SQLite) or the first request's commit so that the
others demonstrably arrive while the first has not finished."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.orm import Session
from test_api_core import GOOD_START, MINI

N = 3


def _setup(siji):
    siji.deploy_paths(MINI)
    iid = siji.start("mini", "ent_a", GOOD_START)["id"]
    return iid, siji.task_for("bureau", iid, "Task_Review")["id"]


def _send(siji, task_id, key, results, i):
    resp = siji.post(
        f"/api/tasks/{task_id}/complete", "bureau", json={"data": {"complete": True}}, headers={"Idempotency-Key": key}
    )
    results[i] = (resp.status_code, resp.get_json())


def _waiting_on_locks(siji) -> int:
    with siji.service.db.autocommit_engine.connect() as c:
        return c.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()


@contextmanager
def _hold_case(siji, iid):
    """Hold the case as a command would: PostgreSQL: its row locked FOR UPDATE; SQLite: the one
    write lock (BEGIN IMMEDIATE)."""
    db = siji.service.db
    with db.write_engine.connect() as conn:
        if db.is_postgres:
            conn.execute(text("BEGIN"))
            conn.execute(text("SELECT id FROM process_instances WHERE id = :i FOR UPDATE"), {"i": iid})
        else:
            conn.execute(text("SELECT 1"))  # the write engine begins with BEGIN IMMEDIATE
        try:
            yield
        finally:
            conn.rollback()


def _wait_blocked(siji, n: int) -> None:
    """Until ``n`` requests wait for the case. PostgreSQL shows its lock waits; SQLite's busy
    wait does not show, so there the threads get a moment to reach it (if one came late it would
    find the answer stored, which the assertions accept just the same)."""
    if siji.service.db.is_postgres:
        deadline = time.monotonic() + 20
        while _waiting_on_locks(siji) < n:
            if time.monotonic() > deadline:
                with siji.service.db.autocommit_engine.connect() as c:
                    seen = c.execute(
                        text(
                            "SELECT state, wait_event_type, wait_event, left(query, 80) "
                            "FROM pg_stat_activity WHERE datname = current_database()"
                        )
                    ).all()
                raise AssertionError(f"the requests never waited for the case: {seen}")
            time.sleep(0.01)
    else:
        time.sleep(0.5)


def _count(siji, sql, **params) -> int:
    with siji.service.db.read() as s:
        return s.execute(text(sql), params).scalar_one()


def _assert_one_completion(siji, iid, task_id, results):
    statuses = [r[0] for r in results]
    assert statuses == [200] * len(results), results
    bodies = [r[1] for r in results]
    assert all(
        {k: v for k, v in b.items() if k != "replayed"}
        == {"task_id": task_id, "process_instance_id": iid, "status": "completed"}
        for b in bodies
    ), bodies
    assert sorted(bool(b.get("replayed")) for b in bodies) == [False] + [True] * (len(bodies) - 1), bodies
    assert (
        _count(siji, "SELECT count(*) FROM audit_events WHERE instance_id = :i AND transition = 'complete'", i=iid) == 1
    )


def test_identical_completes_sent_at_once_all_answer_the_first(siji):
    iid, task_id = _setup(siji)
    results: list = [None] * N
    threads = [threading.Thread(target=_send, args=(siji, task_id, "same-key", results, i)) for i in range(N)]
    with _hold_case(siji, iid):
        for t in threads:
            t.start()
        _wait_blocked(siji, N)
    for t in threads:
        t.join(timeout=60)
    _assert_one_completion(siji, iid, task_id, results)


def test_retry_while_the_first_still_runs_waits_and_replays(siji):
    iid, task_id = _setup(siji)
    in_commit, release = threading.Event(), threading.Event()

    def hold_first_commit(session):
        # The first complete's transaction is held just before its COMMIT, with the state, its
        # audit events and the stored answer written but not yet visible to anyone else.
        from engine.store.models import IdempotencyKey

        if not in_commit.is_set() and any(isinstance(o, IdempotencyKey) for o in session.new):
            session.flush()
            in_commit.set()
            release.wait(30)

    event.listen(Session, "before_commit", hold_first_commit)
    results: list = [None, None]
    try:
        t1 = threading.Thread(target=_send, args=(siji, task_id, "retry-key", results, 0))
        t1.start()
        assert in_commit.wait(30)
        t2 = threading.Thread(target=_send, args=(siji, task_id, "retry-key", results, 1))
        t2.start()
        _wait_blocked(siji, 1)
        assert results[1] is None, "the retry answered before the first attempt finished"
        release.set()
        t1.join(timeout=60)
        t2.join(timeout=60)
    finally:
        release.set()
        event.remove(Session, "before_commit", hold_first_commit)
    assert results[0][0] == 200 and not results[0][1].get("replayed"), results
    _assert_one_completion(siji, iid, task_id, results)


def test_same_key_for_another_request_is_refused_after_waiting(siji):
    """A key reused for a different request still answers 409 naming the header, not the first
    request's answer."""
    iid, task_id = _setup(siji)
    ok = siji.post(
        f"/api/tasks/{task_id}/complete", "bureau", json={"data": {"complete": True}}, headers={"Idempotency-Key": "k1"}
    )
    assert ok.status_code == 200
    other = siji.post(
        f"/api/tasks/{task_id}/complete",
        "bureau",
        json={"data": {"complete": False}},
        headers={"Idempotency-Key": "k1"},
    )
    assert other.status_code == 409 and "Idempotency-Key" in other.get_json()["fields"], other.get_json()
