"""Outgoing events reach subscribed webhooks: signed, once each, in order per case; failures are
retried with a growing back-off (moved by the test's clock), dead-lettered after the last try
(holding back only that case) and replayed by an admin. Real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from integration_helpers import Receiver, allow_local, subscribe
from sqlalchemy import select
from test_api_core import GOOD_START, MINI

SECRET = "s3cret-for-the-test-only"


@pytest.fixture
def receiver(siji):
    r = Receiver(SECRET)
    r.clock = lambda: siji.clock.now().timestamp()  # signatures are stamped with the service clock
    r.start()
    yield r
    r.stop()


@pytest.fixture
def dispatcher(siji):
    from engine.integration.delivery import Dispatcher

    allow_local(siji, webhook_max_attempts=3, webhook_timeout=5)
    return Dispatcher(siji.service, name="test")


def outbox_ids(siji, iid=None):
    from engine.store.models import OutboxEvent

    with siji.service.db.read() as s:
        q = select(OutboxEvent.id, OutboxEvent.instance_id).order_by(OutboxEvent.id)
        return [(i, inst) for i, inst in s.execute(q) if iid is None or inst == iid]


def test_events_are_signed_delivered_once_and_in_case_order(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    subscribe(siji, receiver)
    a = siji.start("mini", "ent_a", GOOD_START, business_key="ZQ-001")["id"]
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    siji.complete(
        "bureau", a, "Task_Review", {"complete": False, "missing_items": "营业执照"}
    )  # → the applicant corrects
    siji.complete("bureau", b, "Task_Review", {"complete": True})  # → case ends
    expected = [i for i, _ in outbox_ids(siji)]
    assert dispatcher.run_once() == len(expected)
    assert receiver.bad_signatures == 0
    assert [r["id"] for r in receiver.received] != [] and sorted(receiver.unique_ids()) == expected
    assert len(receiver.received) == len(expected)  # once each
    for case in (a, b):
        ids = [r["id"] for r in receiver.received if r["process_instance_id"] == case]
        assert ids == sorted(ids) and ids == [i for i, inst in outbox_ids(siji, case)]
    first = next(r for r in receiver.received if r["process_instance_id"] == a)
    assert first["kind"] == "case_started" and first["business_key"] == "ZQ-001"
    assert first["process_key"] == "mini"
    # nothing twice: a second pass has nothing to do
    assert dispatcher.run_once() == 0 and len(receiver.received) == len(expected)
    # the 政企直通车 / SMS stand-in texted the enterprise about its to-do and the bureau about its task
    assert any("您的事项（ZQ-001）有一项待您办理：补正材料" in n for n in receiver.notifications)
    assert any("已办结" in n for n in receiver.notifications)
    assert any("[approval_bureau] 新的待办：审查材料" in n for n in receiver.notifications)


def test_a_wrong_secret_is_refused_by_the_receiver(siji, dispatcher):
    siji.deploy_paths(MINI)
    r = Receiver("another-secret-entirely").start()
    r.clock = lambda: siji.clock.now().timestamp()
    try:
        subscribe(siji, r)
        siji.start("mini", "ent_a", GOOD_START)
        assert dispatcher.run_once() == 0
        assert r.bad_signatures == 1 and r.received == []
    finally:
        r.stop()


def test_subscriptions_are_admin_only_and_checked(siji, receiver):
    body = {"name": "x", "url": receiver.url, "kinds": ["task_created"]}
    assert siji.post("/api/webhooks/subscriptions", "analyst", json=body).status_code == 403
    resp = siji.post("/api/webhooks/subscriptions", "admin", json=body)  # no host allowed yet
    assert resp.status_code == 422 and "url" in resp.get_json()["fields"]
    allow_local(siji)
    for bad, field in (
        ({"url": "http://10.0.0.1/hook"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "http://u:p@127.0.0.1/x"}, "url"),
        ({"kinds": ["everything"]}, "kinds"),
        ({"kinds": []}, "kinds"),
    ):
        resp = siji.post("/api/webhooks/subscriptions", "admin", json={**body, **bad})
        assert resp.status_code == 422 and field in resp.get_json()["fields"], (bad, resp.get_json())
    created = siji.ok(siji.post("/api/webhooks/subscriptions", "admin", json=body), 201)
    assert len(created["secret"]) >= 32  # generated, shown once
    listed = siji.ok(siji.get("/api/webhooks/subscriptions", "admin"))["items"]
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    siji.ok(siji.client.delete(f"/api/webhooks/subscriptions/{created['id']}", headers=siji.headers("admin")))
    assert siji.ok(siji.get("/api/webhooks/subscriptions", "admin"))["items"][0]["active"] is False
    from engine.store.models import AuditEvent

    with siji.service.db.read() as s:
        audited = [e.transition for e in s.scalars(select(AuditEvent).where(AuditEvent.instance_id.is_(None)))]
    assert "webhook_subscribed" in audited and "webhook_unsubscribed" in audited


def test_kinds_filter_what_a_subscriber_hears(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    subscribe(siji, receiver, kinds=["case_ended"])
    iid = siji.start("mini", "ent_a", GOOD_START)["id"]
    siji.complete("bureau", iid, "Task_Review", {"complete": True})
    assert dispatcher.run_once() == 1
    assert [r["kind"] for r in receiver.received] == ["case_ended"]


def test_retries_back_off_then_dead_letter_holds_only_its_case_until_replayed(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    sub = subscribe(siji, receiver)
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    receiver.fail_next = 100
    assert dispatcher.run_once() == 0  # try 1 fails
    assert dispatcher.run_once() == 0 and len(receiver.received) == 0
    tries = lambda: 100 - receiver.fail_next  # noqa: E731
    assert tries() == 1  # waiting for its back-off: not tried again
    siji.clock.advance(timedelta(seconds=4))
    dispatcher.run_once()
    assert tries() == 1  # 5 s back-off not over yet
    siji.clock.advance(timedelta(seconds=2))
    dispatcher.run_once()
    assert tries() == 2
    siji.clock.advance(timedelta(seconds=10))  # doubled
    dispatcher.run_once()
    assert tries() == 3  # the last of 3 tries → dead letter
    siji.clock.advance(timedelta(hours=1))
    dispatcher.run_once()
    assert tries() == 3
    dead = siji.ok(siji.get("/api/webhooks/dead-letters", "admin"))["items"]
    assert len(dead) == 1 and dead[0]["process_instance_id"] == a and dead[0]["kind"] == "case_started"
    assert dead[0]["attempts"] == 3 and dead[0]["last_error"].startswith("HTTP 503")
    # the dead case's later events wait behind it; another case is delivered meanwhile
    siji.complete("bureau", a, "Task_Review", {"complete": True})
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    receiver.fail_next = 0
    dispatcher.run_once()
    assert {r["process_instance_id"] for r in receiver.received} == {b}
    # the admin replays: the case's events arrive, in order, from the one that failed
    assert siji.post("/api/webhooks/dead-letters/replay", "auditor", json={}).status_code == 403
    assert (
        siji.ok(siji.post("/api/webhooks/dead-letters/replay", "admin", json={"subscription_id": sub["id"]}))["count"]
        == 1
    )
    dispatcher.run_once()
    got = [r["id"] for r in receiver.received if r["process_instance_id"] == a]
    assert got == [i for i, _ in outbox_ids(siji, a)]
    assert siji.ok(siji.get("/api/webhooks/dead-letters", "admin"))["items"] == []
    listed = siji.ok(siji.get("/api/webhooks/subscriptions", "admin"))["items"][0]
    assert listed["delivered"] == len(receiver.received) and listed["dead_letters"] == 0


def test_rewind_delivers_again_from_an_event(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    sub = subscribe(siji, receiver)
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    dispatcher.run_once()
    n = len(receiver.received)
    ids_a = [i for i, _ in outbox_ids(siji, a)]
    assert (
        siji.ok(
            siji.post(
                f"/api/webhooks/subscriptions/{sub['id']}/replay",
                "admin",
                json={"from_event_id": ids_a[-1], "process_instance_id": a},
            )
        )["count"]
        == 1
    )
    dispatcher.run_once()
    assert [r["id"] for r in receiver.received[n:]] == [ids_a[-1]]
    assert (
        siji.post(f"/api/webhooks/subscriptions/{sub['id']}/replay", "admin", json={"from_event_id": 0}).status_code
        == 422
    )
    assert siji.post("/api/webhooks/subscriptions/999/replay", "admin", json={"from_event_id": 1}).status_code == 404
    # everything again, all cases
    siji.ok(siji.post(f"/api/webhooks/subscriptions/{sub['id']}/replay", "admin", json={"from_event_id": 1}))
    dispatcher.run_once()
    assert len(receiver.received) == n + 1 + len(outbox_ids(siji))
    assert {r["process_instance_id"] for r in receiver.received} == {a, b}
