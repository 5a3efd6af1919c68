"""Keeping the outbox short: each subscription's low-water mark, and deleting old delivered events.

**The mark.** ``WebhookSubscription.start_after_id`` says "events with a larger id are delivered";
the dispatcher's search for work (``Dispatcher._pending_cases``) scans only events above it. At
most once per ``INTERVAL`` a dispatcher raises every subscription's mark to (the smallest id of an
event it still has to deliver) − 1 — an event of one of its kinds, of a case, above the mark, and
after that case's cursor (or with no cursor yet). A dead letter's events are undelivered, so a dead
letter holds its subscription's mark until it is replayed. A mark only goes down in an admin's
rewind (``subscriptions.rewind``), in the same transaction as the cursors it moves back.

Races. The raise runs in one short transaction per subscription that first locks the
subscription row (``FOR NO KEY UPDATE`` on PostgreSQL, which a cursor insert's foreign-key check
does not wait for; SQLite's single writer serializes the rest), then reads the cursors, then
raises with ``UPDATE … WHERE start_after_id < new``: several dispatchers on several hosts can only
each raise it, and a rewind, which takes the same row lock first, is never overwritten with a mark
computed from cursors it has since moved back.

**Settled ids.** On PostgreSQL ids are drawn when a row is inserted but become visible when its
transaction commits, so a committed event can sit above one that is still to come (a longer
command drew the smaller id). A mark above such an id would hide it from the dispatcher for good.
So a mark never passes the *settled horizon*: the largest id below which nothing can still
appear. Every transaction that writes the outbox holds ``RowExclusiveLock`` on the table from its
INSERT (before the id is drawn) until it ends; a pass reads the largest visible id and, after it,
the transactions holding that lock. With none, that id is settled at once; otherwise it is settled
at a later pass once all of them have ended (``pg_locks``; a pass is a minute later, so the mark
trails the newest events by about a minute under load). SQLite has one writer at a time and hands
out ids past every committed one, so the largest visible id is settled.

**Retention.** ``SIJI_OUTBOX_RETENTION_DAYS`` (0: keep forever). A pass deletes, oldest id first
and ``PRUNE_BATCH`` rows per transaction, the events that are older than that *and* at or below
every active subscription's mark (a stopped one is never delivered to again, so it holds nothing
back; with no active subscription, every old event goes). Only a prefix of ids is ever deleted (it stops at the first
event too young, even if younger ones follow) and the newest event is always kept (SQLite would
otherwise hand its id out again). How far it got is kept in ``service_settings``
(``outbox_pruned_through``): a rewind to an event at or below it is refused with 409. Each batch
first locks the subscription rows ``FOR SHARE`` (so a rewind lowering a mark and a batch deleting
below the old one wait for each other; a cursor's insert or update does not), then the
``outbox_pruned_through`` row (one batch at a time across dispatchers); it touches no cursor, so
it cannot deadlock with deliveries. A pass whose oldest event is too young takes no lock at all.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.store.models import OutboxEvent, ServiceSetting, WebhookCursor, WebhookSubscription

log = logging.getLogger("siji.dispatch")

INTERVAL = timedelta(minutes=1)  # a dispatcher's housekeeping runs at most this often
RAISE_SPAN = 50_000  # event ids one raise transaction examines; a pass repeats until caught up
PRUNE_BATCH = 1_000  # events deleted per transaction
PRUNE_BATCHES = 100  # per pass: the next pass goes on
PRUNED_KEY = "outbox_pruned_through"  # service_settings row: {"id": the largest id deleted}

_WRITERS_PG = text(
    "SELECT (SELECT max(id) FROM outbox_events) AS top, "
    "ARRAY(SELECT DISTINCT virtualtransaction::text FROM pg_locks "
    "      WHERE locktype = 'relation' AND relation = CAST('outbox_events' AS regclass) "
    "        AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "        AND mode = 'RowExclusiveLock' AND pid IS DISTINCT FROM pg_backend_pid()) AS writers, "
    "ARRAY(SELECT DISTINCT virtualtransaction::text FROM pg_locks "
    "      WHERE virtualtransaction = ANY(CAST(:waiting AS text[]))) AS still_running"
)


def pruned_through(session) -> int:
    """The largest outbox id retention has deleted (0: none): every event up to it is gone."""
    row = session.get(ServiceSetting, PRUNED_KEY)
    return int((row.value or {}).get("id", 0)) if row is not None else 0


def first_undelivered(sub_id: int, kinds: list[str], after: int, upto: int):
    """The query for the smallest id in (``after``, ``upto``] the subscription still has to
    deliver; id order, so PostgreSQL stops at the first one."""
    e, c = OutboxEvent, WebhookCursor
    return (
        select(e.id)
        .select_from(e)
        .outerjoin(c, and_(c.subscription_id == sub_id, c.instance_id == e.instance_id))
        .where(
            e.id > after,
            e.id <= upto,
            e.instance_id.is_not(None),
            e.kind.in_(kinds),
            or_(c.id.is_(None), e.id > c.last_event_id),
        )
        .order_by(e.id)
        .limit(1)
    )


class OutboxHousekeeping:
    """One dispatcher process's share of the outbox's upkeep; ``tick(now)`` from its loop."""

    def __init__(self, service, interval: timedelta = INTERVAL):
        self.service = service
        self.interval = interval
        self._last_run: datetime | None = None
        self._settled = 0  # every event id up to this one is committed or never will be
        self._candidate: tuple[int, list[str]] | None = None  # (largest id seen, writers then)
        self._pruned_row = False

    def due(self, now: datetime) -> bool:
        last = self._last_run
        return last is None or not (last <= now < last + self.interval)  # a clock set back: due

    def tick(self, now: datetime) -> dict | None:
        """Run a pass if the last one is ``interval`` old; None when it was not due."""
        if not self.due(now):
            return None
        self._last_run = now  # also when the pass fails: the next try is an interval later
        return self.run(now)

    def run(self, now: datetime) -> dict:
        horizon = self.settled_horizon()
        marks = self.raise_marks(horizon)
        pruned = self.prune(now, horizon)
        if pruned:
            log.info("outbox: %s event(s) past retention deleted", pruned)
        return {"horizon": horizon, "marks": marks, "pruned": pruned}

    # ------------------------------------------------------------------ settled ids
    def settled_horizon(self) -> int:
        db = self.service.db
        with db.read() as s:
            if not db.is_postgres:
                self._settled = max(self._settled, s.scalar(select(func.max(OutboxEvent.id))) or 0)
                return self._settled
            waiting = self._candidate[1] if self._candidate else []
            top, writers, still_running = s.execute(_WRITERS_PG, {"waiting": waiting}).one()
        top = top or 0
        if self._candidate is not None and not still_running:
            self._settled = max(self._settled, self._candidate[0])
            self._candidate = None
        if not writers:
            self._settled = max(self._settled, top)
            self._candidate = None
        elif self._candidate is None and top > self._settled:
            self._candidate = (top, list(writers))
        return self._settled

    # ------------------------------------------------------------------ marks
    def raise_marks(self, horizon: int) -> dict[int, int]:
        """Raise every subscription's mark as far as it may go below ``horizon``; returns the
        marks after the pass."""
        with self.service.db.read() as s:
            subs = s.execute(
                select(WebhookSubscription.id, WebhookSubscription.start_after_id).order_by(WebhookSubscription.id)
            ).all()
        return {sub_id: self.raise_mark(sub_id, horizon) if mark < horizon else mark for sub_id, mark in subs}

    def raise_mark(self, sub_id: int, horizon: int) -> int:
        db = self.service.db
        while True:
            with db.write() as s:
                row = s.execute(
                    select(WebhookSubscription.start_after_id, WebhookSubscription.kinds)
                    .where(WebhookSubscription.id == sub_id)
                    .with_for_update(key_share=True)
                ).first()
                if row is None:
                    return 0
                mark, kinds = row
                if mark >= horizon:
                    return mark
                upto = min(horizon, mark + RAISE_SPAN)
                first = s.scalar(first_undelivered(sub_id, list(kinds or []), mark, upto))
                new = upto if first is None else first - 1
                if new <= mark:
                    return mark
                s.execute(
                    update(WebhookSubscription)
                    .where(WebhookSubscription.id == sub_id, WebhookSubscription.start_after_id < new)
                    .values(start_after_id=new)
                )
            if first is not None or new >= horizon:
                return new

    # ------------------------------------------------------------------ retention
    def prune(self, now: datetime, horizon: int) -> int:
        days = self.service.settings.outbox_retention_days
        if days <= 0:
            return 0
        cutoff = now - timedelta(days=days)
        with self.service.db.read() as s:  # the usual answer, without a lock: nothing is old enough
            oldest = s.scalar(
                select(OutboxEvent.created_at)
                .where(OutboxEvent.id > pruned_through(s))
                .order_by(OutboxEvent.id)
                .limit(1)
            )
        if oldest is None or oldest >= cutoff:
            return 0
        self._ensure_pruned_row()
        total = 0
        for _ in range(PRUNE_BATCHES):
            n = self._prune_batch(cutoff, horizon)
            total += n
            if n < PRUNE_BATCH:
                break
        return total

    def _ensure_pruned_row(self) -> None:
        if self._pruned_row:
            return
        db = self.service.db
        insert = pg_insert if db.is_postgres else sqlite_insert
        with db.write() as s:
            s.execute(
                insert(ServiceSetting.__table__)
                .values(name=PRUNED_KEY, value={"id": 0})
                .on_conflict_do_nothing(index_elements=["name"])
            )
        self._pruned_row = True

    def _prune_batch(self, cutoff: datetime, horizon: int) -> int:
        with self.service.db.write() as s:
            # Lock order: subscriptions, then the pruned row, then outbox rows (see the docstring).
            # every row is locked (a rewind of any waits), only the active ones' marks count: a
            # stopped subscription is never delivered to again (nothing reactivates one)
            marks = [
                mark
                for mark, active in s.execute(
                    select(WebhookSubscription.start_after_id, WebhookSubscription.active)
                    .order_by(WebhookSubscription.id)
                    .with_for_update(read=True)
                )
                if active
            ]
            row = s.scalars(select(ServiceSetting).where(ServiceSetting.name == PRUNED_KEY).with_for_update()).one()
            through = int((row.value or {}).get("id", 0))
            top = s.scalar(select(func.max(OutboxEvent.id))) or 0
            bound = min([top - 1, horizon, *marks])  # never the newest event
            # From where the last batch stopped: the index is not walked over the rows deleted.
            rows = s.execute(
                select(OutboxEvent.id, OutboxEvent.created_at)
                .where(OutboxEvent.id > through, OutboxEvent.id <= bound)
                .order_by(OutboxEvent.id)
                .limit(PRUNE_BATCH)
            ).all()
            last = None
            for event_id, created_at in rows:
                if created_at >= cutoff:
                    break
                last = event_id
            if last is None:
                return 0
            n = s.execute(delete(OutboxEvent).where(OutboxEvent.id > through, OutboxEvent.id <= last)).rowcount
            row.value = {"id": last}
            return n


__all__ = ["OutboxHousekeeping", "pruned_through", "first_undelivered", "INTERVAL", "PRUNED_KEY"]
