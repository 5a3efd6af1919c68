"""Delivering the outbox to subscribed webhooks: at least once, in order per case, signed.

Unit of work: one subscription's cursor on one case (``webhook_cursors``). A dispatcher

1. finds cases with events after their cursor (or with no cursor yet) that are not leased, not
   dead and not waiting for a retry, and makes the missing cursors;
2. leases a batch of them in one short transaction — ``SELECT … FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so dispatchers in several processes never pick the same cursor and never wait for
   each other; SQLite's single writer serializes the same statements;
3. outside any transaction, POSTs each case's events in id order; after each answer it moves the
   cursor in a short transaction that checks it still holds the lease and the cursor is where it
   left it (an admin's rewind takes the case away mid-way).

So under normal operation each event reaches each subscriber once. A dispatcher killed between
the receiver's answer and its cursor update leaves the lease to expire; another dispatcher then
sends that one event again (at least once across crashes, never lost). A failing event is retried
with a doubling back-off; after ``SIJI_WEBHOOK_MAX_ATTEMPTS`` tries the cursor turns ``dead`` (a
dead letter): later events of that case wait behind it — order per case is kept — until an admin
replays it. Other cases are not held back.

Work is found above each subscription's low-water mark (``start_after_id``), which the
dispatchers' housekeeping raises about once a minute as cursors move on; the same housekeeping
deletes events older than ``SIJI_OUTBOX_RETENTION_DAYS`` that every subscription has passed
(engine/integration/outbox_housekeeping.py). So the search reads the undelivered tail of the
outbox, not its whole history.

The body is the event as JSON; ``X-Siji-Signature: t=<unix time>,v1=<hex>`` carries
HMAC-SHA256(secret, "<unix time>." + body), so a receiver can check origin and freshness.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
from datetime import timedelta

import requests
from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine import logctx
from engine.integration import outbound
from engine.integration.outbox_housekeeping import OutboxHousekeeping
from engine.metrics import WEBHOOK_DELIVERIES
from engine.service.errors import Invalid
from engine.store.models import Instance, OutboxEvent, WebhookCursor, WebhookSubscription

log = logging.getLogger("siji.dispatch")

BATCH = 10  # cursors leased at once: small, so several dispatchers share a backlog
EVENTS_PER_CASE = 50  # events sent per case before the lease is given back
BACKOFF_FIRST = 5.0  # seconds before the second try; doubles up to BACKOFF_MAX
BACKOFF_MAX = 3600.0
IDLE_SLEEP = 0.5


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, now: float, tolerance: float = 300.0) -> bool:
    """The receiver's check (tools/zqztc_receiver.py uses it): right MAC, and not older than
    ``tolerance`` seconds (a captured request cannot be replayed later)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)


def event_body(ev: OutboxEvent, business_key: str | None) -> bytes:
    p = ev.payload or {}
    doc = {
        "id": ev.id,
        "kind": ev.kind,
        "process_instance_id": ev.instance_id,
        "process_key": ev.process_key,
        "business_key": business_key,
        "task_id": ev.task_id,
        "role": ev.role,
        "created_at": ev.created_at.isoformat(),
        "activity_id": p.get("activity_id"),
        "activity_name": p.get("activity_name"),
        "actor": p.get("actor"),
        "seq": p.get("seq"),
        "data": p.get("data") or {},
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, default=str).encode()


def backoff(attempts: int) -> float:
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


class Dispatcher:
    def __init__(self, service, name: str | None = None):
        self.service = service
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:80]
        settings = service.settings
        self.timeout = float(settings.webhook_timeout)
        self.max_attempts = settings.webhook_max_attempts
        # Long enough for one request and its cursor update; a dead dispatcher's cases wait this long.
        self.lease = timedelta(seconds=2 * self.timeout + 5)
        self._stop = threading.Event()
        # Other outbound work run in the same loop (the connector worker in ``siji dispatch``).
        self.companions: list = []
        # The outbox's marks and retention, at most once a minute (housekeep()).
        self.housekeeping = OutboxHousekeeping(service)

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> int:
        """Deliver what is due now. Returns how many events were delivered."""
        delivered = 0
        with self.service.db.read() as s:
            subs = s.scalars(
                select(WebhookSubscription).where(WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id)
            ).all()
        for sub in subs:
            if self._stop.is_set():
                break
            for cursor in self._lease(sub, self._pending_cases(sub)):
                if self._stop.is_set():
                    break
                delivered += self._deliver_case(sub, cursor)
        return delivered

    def housekeep(self) -> dict | None:
        """Raise the subscriptions' marks and delete events past retention, if a minute has
        passed since the last time (by the service clock). A failure is logged, not raised:
        deliveries go on and the next try is a minute later."""
        try:
            return self.housekeeping.tick(self.service.now())
        except Exception as e:
            log.warning("outbox housekeeping: %s: %s", e.__class__.__name__, e)
            return None

    def _pending_cases(self, sub: WebhookSubscription) -> list[int]:
        """Cases with events to send, oldest first. Only events above the subscription's mark are
        read: below it every event has been delivered, or a case that was rewound lowered it."""
        now = self.service.now()
        c = WebhookCursor
        e = OutboxEvent
        # SQLite keeps no statistics: asked to group by instance_id, it walks the (instance_id, id)
        # index — every event — instead of the id range above the mark. "+ 0" hides that index.
        case = e.instance_id if self.service.db.is_postgres else e.instance_id + literal_column("0")
        q = (
            select(case)
            .select_from(e)
            .outerjoin(c, and_(c.subscription_id == sub.id, c.instance_id == e.instance_id))
            .where(
                e.id > sub.start_after_id,
                case.is_not(None),
                e.kind.in_(sub.kinds),
                or_(
                    c.id.is_(None),
                    and_(
                        e.id > c.last_event_id,
                        c.status == "active",
                        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
                        or_(c.lease_until.is_(None), c.lease_until < now),
                    ),
                ),
            )
            .group_by(case)
            .order_by(func.min(e.id))
            .limit(BATCH)
        )
        with self.service.db.read() as s:
            return [r[0] for r in s.execute(q)]

    def _lease(self, sub: WebhookSubscription, instance_ids: list[int]) -> list[WebhookCursor]:
        if not instance_ids:
            return []
        db = self.service.db
        now = self.service.now()
        insert = pg_insert if db.is_postgres else sqlite_insert
        with db.write() as s:
            s.execute(
                insert(WebhookCursor.__table__)
                .values(
                    [
                        dict(
                            subscription_id=sub.id,
                            instance_id=iid,
                            last_event_id=sub.start_after_id,
                            status="active",
                            attempts=0,
                            delivered=0,
                        )
                        for iid in instance_ids
                    ]
                )
                .on_conflict_do_nothing(index_elements=["subscription_id", "instance_id"])
            )
            q = (
                select(WebhookCursor)
                .where(
                    WebhookCursor.subscription_id == sub.id,
                    WebhookCursor.instance_id.in_(instance_ids),
                    WebhookCursor.status == "active",
                    or_(WebhookCursor.next_attempt_at.is_(None), WebhookCursor.next_attempt_at <= now),
                    or_(WebhookCursor.lease_until.is_(None), WebhookCursor.lease_until < now),
                )
                .order_by(WebhookCursor.id)
            )
            if db.is_postgres:
                q = q.with_for_update(skip_locked=True)
            cursors = s.scalars(q).all()
            for cur in cursors:
                cur.lease_owner, cur.lease_until = self.name, now + self.lease
            return cursors

    # ------------------------------------------------------------------ one case
    def _deliver_case(self, sub: WebhookSubscription, cur: WebhookCursor) -> int:
        logctx.bind_case(cur.instance_id)
        db = self.service.db
        with db.read() as s:
            events = s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.instance_id == cur.instance_id, OutboxEvent.id > cur.last_event_id)
                .order_by(OutboxEvent.id)
                .limit(EVENTS_PER_CASE)
            ).all()
            business_key = s.scalar(select(Instance.business_key).where(Instance.id == cur.instance_id))
        position, attempts, sent = cur.last_event_id, cur.attempts, 0
        for ev in events:
            if self._stop.is_set():
                break
            if ev.kind not in sub.kinds:
                continue  # skipped; the cursor moves past it with the next delivered event
            error = self._post(sub, ev, business_key, attempts + 1)
            if error is None:
                WEBHOOK_DELIVERIES.labels("delivered").inc()
                if not self._move(cur.id, position, ev.id, delivered=1):
                    return sent  # an admin rewound the case meanwhile: it is someone else's now
                position, attempts, sent = ev.id, 0, sent + 1
                continue
            attempts += 1
            dead = attempts >= self.max_attempts
            WEBHOOK_DELIVERIES.labels("dead" if dead else "failed").inc()
            log.warning("webhook %s event %s try %s failed: %s", sub.id, ev.id, attempts, error)
            self._fail(cur.id, position, ev.id - 1, attempts, dead, error)
            return sent
        # all sent (or only skipped kinds left): move past the skipped ones, give the lease back
        last = events[-1].id if events and not self._stop.is_set() else position
        self._move(cur.id, position, last, delivered=0, release=True)
        return sent

    def _post(self, sub: WebhookSubscription, ev: OutboxEvent, business_key, attempt: int) -> str | None:
        body = event_body(ev, business_key)
        ts = int(self.service.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "siji-webhook/1",
            "X-Siji-Event-Id": str(ev.id),
            "X-Siji-Event-Kind": ev.kind,
            "X-Siji-Delivery-Attempt": str(attempt),
            "X-Siji-Sender": self.name,
            "X-Siji-Signature": signature(sub.secret, ts, body),
        }
        try:
            resp = outbound.send(
                "POST", sub.url, self.service.settings.webhook_hosts, body=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as e:
            return f"{e.__class__.__name__}: {str(e)[:300]}"
        except Invalid as e:
            return e.message_en
        if 200 <= resp.status_code < 300:
            return None
        return f"HTTP {resp.status_code}: {resp.text[:300]}"

    def _move(self, cursor_id: int, expected: int, to: int, delivered: int, release: bool = False) -> bool:
        """Move the cursor from ``expected`` to ``to`` if this dispatcher still holds it."""
        now = self.service.now()
        values = dict(
            last_event_id=to,
            attempts=0,
            next_attempt_at=None,
            last_error=None,
            delivered=WebhookCursor.delivered + delivered,
        )
        values.update(lease_owner=None, lease_until=None) if release else values.update(lease_until=now + self.lease)
        with self.service.db.write() as s:
            n = s.execute(
                update(WebhookCursor)
                .where(
                    WebhookCursor.id == cursor_id,
                    WebhookCursor.lease_owner == self.name,
                    WebhookCursor.last_event_id == expected,
                )
                .values(**values)
            ).rowcount
        return n == 1

    def _fail(self, cursor_id: int, expected: int, to: int, attempts: int, dead: bool, error: str) -> None:
        now = self.service.now()
        with self.service.db.write() as s:
            s.execute(
                update(WebhookCursor)
                .where(
                    WebhookCursor.id == cursor_id,
                    WebhookCursor.lease_owner == self.name,
                    WebhookCursor.last_event_id == expected,
                )
                .values(
                    last_event_id=max(expected, to),
                    attempts=attempts,
                    status="dead" if dead else "active",
                    next_attempt_at=None if dead else now + timedelta(seconds=backoff(attempts)),
                    last_error=error[:2000],
                    lease_owner=None,
                    lease_until=None,
                )
            )

    # ------------------------------------------------------------------ the loop
    def run_forever(self) -> None:
        log.info("dispatcher %s started", self.name)
        while not self._stop.is_set():
            try:
                if self.service.clock_sync is not None:
                    self.service.clock_sync.refresh()
                self.housekeep()
                if self.run_once() + sum(c.run_once() for c in self.companions):
                    continue
            except Exception as e:  # database away: back off, keep the dispatcher alive
                log.warning("dispatcher: %s: %s", e.__class__.__name__, e)
                self._stop.wait(1.0)
                continue
            self._stop.wait(IDLE_SLEEP)
        log.info("dispatcher %s stopped", self.name)

    def start_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.run_forever, name="siji-dispatcher", daemon=True)
        t.start()
        return t


__all__ = ["Dispatcher", "signature", "verify_signature", "event_body", "backoff"]
