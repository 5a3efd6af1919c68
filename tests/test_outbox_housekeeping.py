"""The outbox stays short: each subscription's low-water mark rises as its cursors move on (a dead
letter holds it; a rewind lowers it again), so the dispatcher reads only the undelivered tail; and
events past SIJI_OUTBOX_RETENTION_DAYS that every active subscription has passed are deleted. The clock
is the test's; housekeeping passes are called directly, a minute of service time apart."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from conftest import make_harness
from integration_helpers import Receiver, allow_local, subscribe
from sqlalchemy import insert, select, update
from test_api_core import GOOD_START, MINI
from test_webhooks import SECRET, dispatcher, receiver  # noqa: F401  (the same receiver and dispatcher fixtures)


def mark(siji, sub_id: int) -> int:
    from engine.store.models import WebhookSubscription

    with siji.service.db.read() as s:
        return s.scalar(select(WebhookSubscription.start_after_id).where(WebhookSubscription.id == sub_id))


def event_ids(siji, iid=None) -> list[int]:
    from engine.store.models import OutboxEvent

    with siji.service.db.read() as s:
        q = select(OutboxEvent.id).order_by(OutboxEvent.id)
        if iid is not None:
            q = q.where(OutboxEvent.instance_id == iid)
        return list(s.scalars(q))


def housekeep(siji, dispatcher, minutes: float = 1):
    """Let ``minutes`` of service time pass, then the dispatcher's housekeeping (due again)."""
    siji.clock.advance(timedelta(minutes=minutes))
    result = dispatcher.housekeeping.tick(siji.clock.now())
    assert result is not None
    return result


def received(receiver, iid=None) -> list[int]:
    return [r["id"] for r in receiver.received if iid is None or r["process_instance_id"] == iid]


def rewind(siji, sub_id, from_event_id, iid=None):
    body = {"from_event_id": from_event_id}
    if iid is not None:
        body["process_instance_id"] = iid
    return siji.post(f"/api/webhooks/subscriptions/{sub_id}/replay", "admin", json=body)


def test_the_mark_rises_after_deliveries_and_the_tail_is_still_read(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    before = siji.start("mini", "ent_b", GOOD_START)["id"]  # from before the subscription
    sub = subscribe(siji, receiver)
    assert sub["start_after_id"] == max(event_ids(siji)) == max(event_ids(siji, before))
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    # nothing delivered yet: the mark stays below a's first event
    assert housekeep(siji, dispatcher)["marks"][sub["id"]] == sub["start_after_id"]
    assert dispatcher.run_once() == len(event_ids(siji, a))
    # not due again within the minute (the dispatcher's loop calls it on every poll)
    assert dispatcher.housekeep() is None
    siji.clock.advance(timedelta(seconds=59))
    assert dispatcher.housekeep() is None
    siji.clock.advance(timedelta(seconds=1))
    assert dispatcher.housekeep() is not None
    assert mark(siji, sub["id"]) == max(event_ids(siji))
    # new events above the mark are found and delivered, in order
    siji.complete("bureau", a, "Task_Review", {"complete": True})
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    new = len(event_ids(siji)) - len(event_ids(siji, before)) - len(received(receiver))
    assert new > 0 and dispatcher.run_once() == new
    assert received(receiver, a) == event_ids(siji, a) and received(receiver, b) == event_ids(siji, b)
    assert before not in {r["process_instance_id"] for r in receiver.received}
    housekeep(siji, dispatcher)
    assert mark(siji, sub["id"]) == max(event_ids(siji))
    # the search reads only above the mark: a cursor moved back behind its back (not through a
    # rewind, which lowers the mark too) is not seen
    from engine.store.models import WebhookCursor

    with siji.service.db.write() as s:
        s.execute(update(WebhookCursor).where(WebhookCursor.instance_id == a).values(last_event_id=0))
    assert dispatcher.run_once() == 0


def test_a_dead_letter_holds_the_mark_until_replayed(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    sub = subscribe(siji, receiver)
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    receiver.fail_next = 3
    for wait in (0, 6, 11):  # three tries, then a dead letter
        siji.clock.advance(timedelta(seconds=wait))
        dispatcher.run_once()
    assert siji.ok(siji.get("/api/webhooks/dead-letters", "admin"))["items"][0]["event_id"] == event_ids(siji, a)[0]
    siji.complete("bureau", a, "Task_Review", {"complete": True})  # waits behind the dead letter
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    dispatcher.run_once()
    assert received(receiver) == event_ids(siji, b)
    housekeep(siji, dispatcher)
    assert mark(siji, sub["id"]) == event_ids(siji, a)[0] - 1
    siji.complete("bureau", b, "Task_Review", {"complete": True})
    dispatcher.run_once()
    housekeep(siji, dispatcher)
    assert mark(siji, sub["id"]) == event_ids(siji, a)[0] - 1  # still: b's later events do not move it
    assert received(receiver) == event_ids(siji, b)
    # replayed: the dead case's events follow, in order, from the one that failed
    siji.ok(siji.post("/api/webhooks/dead-letters/replay", "admin", json={"subscription_id": sub["id"]}))
    dispatcher.run_once()
    assert received(receiver, a) == event_ids(siji, a)
    housekeep(siji, dispatcher)
    assert mark(siji, sub["id"]) == max(event_ids(siji))


def test_a_rewind_below_the_mark_delivers_again(siji, receiver, dispatcher):
    siji.deploy_paths(MINI)
    old = siji.start("mini", "ent_b", GOOD_START)["id"]  # before the subscription: never sent
    sub = subscribe(siji, receiver)
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    siji.complete("bureau", a, "Task_Review", {"complete": True})
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    dispatcher.run_once()
    housekeep(siji, dispatcher)
    top = max(event_ids(siji))
    assert mark(siji, sub["id"]) == top
    n = len(receiver.received)
    # one case, from its second event: the mark goes down with its cursor, in the same transaction
    second = event_ids(siji, a)[1]
    assert siji.ok(rewind(siji, sub["id"], second, a))["count"] == 1
    assert mark(siji, sub["id"]) == second - 1
    assert dispatcher.run_once() == len(event_ids(siji, a)) - 1
    assert received(receiver)[n:] == event_ids(siji, a)[1:]
    # one case, from before the subscription: only that case again, not the cases the
    # subscription never had (their events are below the lowered mark too)
    n = len(receiver.received)
    assert siji.ok(rewind(siji, sub["id"], 1, a))["count"] == 1
    assert mark(siji, sub["id"]) == 0
    dispatcher.run_once()
    assert received(receiver)[n:] == event_ids(siji, a)
    assert old not in {r["process_instance_id"] for r in receiver.received}
    housekeep(siji, dispatcher)
    assert mark(siji, sub["id"]) == top
    # every case from b's first event: a (its events are all older) is not sent again
    n = len(receiver.received)
    assert siji.ok(rewind(siji, sub["id"], event_ids(siji, b)[0]))["count"] == 1
    dispatcher.run_once()
    assert received(receiver)[n:] == event_ids(siji, b)
    housekeep(siji, dispatcher)
    assert mark(siji, sub["id"]) == top


def test_retention_deletes_old_events_every_subscription_has_passed(siji, receiver, dispatcher):
    assert siji.service.settings.outbox_retention_days == 30
    siji.deploy_paths(MINI)
    a = siji.start("mini", "ent_a", GOOD_START)["id"]  # T0, before any subscription
    s1 = subscribe(siji, receiver, name="s1")
    assert s1["start_after_id"] == max(event_ids(siji))
    b = siji.start("mini", "ent_b", GOOD_START)["id"]  # T0
    dispatcher.run_once()
    siji.clock.advance(timedelta(days=20))
    c = siji.start("mini", "ent_a", GOOD_START)["id"]  # T0 + 20 d
    dispatcher.run_once()
    # a subscription made now starts after the newest event: it holds nothing older back
    s2 = subscribe(siji, receiver, name="s2")
    assert s2["start_after_id"] == max(event_ids(siji)) == max(event_ids(siji, c))
    siji.ok(siji.client.delete(f"/api/webhooks/subscriptions/{s2['id']}", headers=siji.headers("admin")))
    siji.clock.advance(timedelta(days=5))
    d = siji.start("mini", "ent_b", GOOD_START)["id"]  # T0 + 25 d: s1 has it, stopped s2 never will
    dispatcher.run_once()
    assert received(receiver) == event_ids(siji, b) + event_ids(siji, c) + event_ids(siji, d)
    result = housekeep(siji, dispatcher)
    assert result["marks"] == {s1["id"]: max(event_ids(siji)), s2["id"]: s2["start_after_id"]}
    assert result["pruned"] == 0  # nothing is 30 days old yet
    ids = {k: event_ids(siji, k) for k in (a, b, c, d)}

    siji.clock.advance(timedelta(days=6))  # T0 + 31 d: a and b are old (and passed by both)
    assert housekeep(siji, dispatcher)["pruned"] == len(ids[a]) + len(ids[b])
    assert event_ids(siji) == ids[c] + ids[d]
    # T0 + 60 d: c and d are old; the stopped s2 never had d but is never delivered to again, so
    # it holds nothing back; the newest event stays
    siji.clock.advance(timedelta(days=29))
    assert housekeep(siji, dispatcher)["pruned"] == len(ids[c]) + len(ids[d]) - 1
    assert event_ids(siji) == ids[d][-1:]
    assert housekeep(siji, dispatcher, minutes=60)["pruned"] == 0

    # a rewind to a deleted event is refused, saying from where it can be done
    resp = rewind(siji, s1["id"], ids[b][0])
    assert resp.status_code == 409, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "events_pruned" and body["first_event_id"] == ids[d][-1]
    assert "保留期限" in body["message_zh"] and "retention" in body["message_en"]
    assert rewind(siji, s1["id"], ids[c][-1], a).status_code == 409
    assert rewind(siji, s2["id"], ids[d][-1]).status_code == 409  # stopped: nothing to deliver to
    n = len(receiver.received)
    assert siji.ok(rewind(siji, s1["id"], ids[d][-1]))["count"] == 1
    dispatcher.run_once()
    assert received(receiver)[n:] == ids[d][-1:]


def test_retention_without_subscriptions_and_kept_forever(siji, dispatcher):
    siji.deploy_paths(MINI)
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    siji.clock.advance(timedelta(days=20))
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    ids_a, ids_b = event_ids(siji, a), event_ids(siji, b)
    siji.service.settings = siji.service.settings.replace(outbox_retention_days=0)  # kept forever
    siji.clock.advance(timedelta(days=40))
    assert housekeep(siji, dispatcher)["pruned"] == 0 and event_ids(siji) == ids_a + ids_b
    siji.service.settings = siji.service.settings.replace(outbox_retention_days=50)
    assert housekeep(siji, dispatcher)["pruned"] == len(ids_a)  # a is 60 days old, b 40
    siji.service.settings = siji.service.settings.replace(outbox_retention_days=30)
    assert housekeep(siji, dispatcher)["pruned"] == len(ids_b) - 1
    assert event_ids(siji) == ids_b[-1:]  # the newest is kept: its id is never handed out again
    c = siji.start("mini", "ent_a", GOOD_START)["id"]
    assert min(event_ids(siji, c)) > ids_b[-1]


def test_the_settings_read_the_retention():
    from engine.settings import Settings, SettingsError

    assert Settings.from_env({}).outbox_retention_days == 30
    assert Settings.from_env({"SIJI_OUTBOX_RETENTION_DAYS": "0"}).outbox_retention_days == 0
    assert Settings.from_env({"SIJI_OUTBOX_RETENTION_DAYS": "400"}).outbox_retention_days == 400
    with pytest.raises(SettingsError, match="SIJI_OUTBOX_RETENTION_DAYS"):
        Settings.from_env({"SIJI_OUTBOX_RETENTION_DAYS": "-1"})


# ---------------------------------------------------------------------------- PostgreSQL only


@pytest.fixture
def pg_siji(pg_schema):
    h = make_harness(pg_schema, "postgres")
    allow_local(h, webhook_timeout=5)
    yield h
    h.service.db.dispose()


def test_an_event_still_being_committed_holds_the_mark(pg_siji):
    """PostgreSQL draws ids at insert and shows them at commit: a longer transaction's event may
    appear below events already delivered. The mark must not pass it."""
    from engine.integration.delivery import Dispatcher
    from engine.store.models import OutboxEvent

    h = pg_siji
    receiver = Receiver(SECRET).start()
    receiver.clock = lambda: h.clock.now().timestamp()
    try:
        h.deploy_paths(MINI)
        sub = subscribe(h, receiver)
        dispatcher = Dispatcher(h.service, name="test")
        a = h.start("mini", "ent_a", GOOD_START)["id"]
        dispatcher.run_once()
        with h.service.db.write_engine.connect() as slow:
            tx = slow.begin()
            late = slow.execute(
                insert(OutboxEvent.__table__)
                .values(kind="task_created", instance_id=a, payload={}, created_at=h.clock.now())
                .returning(OutboxEvent.id)
            ).scalar_one()
            b = h.start("mini", "ent_b", GOOD_START)["id"]  # commits ids above the late one
            assert min(event_ids(h, b)) > late
            dispatcher.run_once()
            assert received(receiver) == event_ids(h, a) + event_ids(h, b)
            housekeep(h, dispatcher)
            assert mark(h, sub["id"]) < late  # everything visible is delivered, but not settled
            tx.commit()
        housekeep(h, dispatcher)
        assert mark(h, sub["id"]) == late - 1  # now it is there, and undelivered
        dispatcher.run_once()
        assert received(receiver, a) == event_ids(h, a) and late in received(receiver, a)
        housekeep(h, dispatcher)
        assert mark(h, sub["id"]) == max(event_ids(h))
    finally:
        receiver.stop()


def test_two_dispatchers_housekeeping_at_once(pg_siji):
    """Two dispatchers' housekeeping (marks and retention) in threads, while a third delivers and
    an admin rewinds every case to the oldest event left halfway: no error, no deadlock, a mark never goes
    down but in the rewind, and a rewind that was accepted gets every event it asked for."""
    from collections import Counter

    from engine.integration.delivery import Dispatcher
    from engine.integration.outbox_housekeeping import pruned_through
    from engine.store.models import WebhookSubscription

    h = pg_siji
    receiver = Receiver(SECRET).start()
    receiver.clock = lambda: h.clock.now().timestamp()
    try:
        h.deploy_paths(MINI)
        subs = [subscribe(h, receiver, name=f"s{i}")["id"] for i in range(2)]
        cases = [h.start("mini", "ent_a" if i % 2 else "ent_b", GOOD_START)["id"] for i in range(30)]
        expected = event_ids(h)
        h.clock.advance(timedelta(days=31))  # every event is past retention once delivered
        keepers = [Dispatcher(h.service, name=f"keeper-{i}") for i in range(2)]
        sender = Dispatcher(h.service, name="sender")
        errors: list = []
        seen: dict[int, list[int]] = {sid: [] for sid in subs}
        done, rewinding = threading.Event(), threading.Event()
        again: list[int] = []

        def keep(d):
            try:
                while not done.is_set():
                    d.housekeeping.run(h.clock.now())
            except Exception as e:
                errors.append(e)

        def send():
            try:
                sender.run_once()  # a third of the backlog; the keepers raise marks and delete meanwhile
                rewinding.set()
                for _ in range(100):  # retention may delete the event between reading and asking
                    with h.service.db.read() as s:
                        first = pruned_through(s) + 1
                    resp = rewind(h, subs[0], first)
                    if resp.status_code == 200:
                        break
                    assert resp.status_code == 409 and resp.get_json()["error"] == "events_pruned"
                else:
                    raise AssertionError("no rewind accepted")
                before = Counter(r["id"] for r in receiver.received)
                again.extend(i for i in event_ids(h) if i >= first)
                while sender.run_once():
                    pass
                after = Counter(r["id"] for r in receiver.received)
                assert again and all(after[i] > before[i] for i in again), (first, again)
            except Exception as e:
                errors.append(e)
            finally:
                done.set()

        def watch():
            while not done.is_set():
                with h.service.db.read() as s:
                    rows = s.execute(select(WebhookSubscription.id, WebhookSubscription.start_after_id)).all()
                for sid, m in rows:
                    if sid != subs[0] or not rewinding.is_set():
                        seen[sid].append(m)

        threads = [threading.Thread(target=keep, args=(k,)) for k in keepers]
        threads += [threading.Thread(target=send), threading.Thread(target=watch)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        for sid, marks in seen.items():
            assert len(marks) > 1 and marks == sorted(marks), sid  # never lowered by housekeeping
        assert set(receiver.unique_ids()) == set(expected)
        assert {r["process_instance_id"] for r in receiver.received} == set(cases)
        assert Counter(r["id"] for r in receiver.received)[expected[0]] >= 2  # both subscriptions
        keepers[0].housekeeping.run(h.clock.now())
        top = max(expected)
        assert [mark(h, sid) for sid in subs] == [top, top]
        assert event_ids(h) == [top]  # delivered to both and old: all but the newest deleted
    finally:
        receiver.stop()
