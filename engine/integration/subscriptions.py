"""Webhook subscriptions, dead letters and replays: the admin's side of outgoing events. Every
change is audited (an event outside any case chain, without the secret)."""

from __future__ import annotations

import secrets

from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.audit.chain import record_standalone
from engine.integration.outbound import check_url
from engine.integration.outbox_housekeeping import pruned_through
from engine.service.actor import Actor
from engine.service.errors import Conflict, Invalid, NotFound, Pruned
from engine.service.outbox import KINDS
from engine.store.models import OutboxEvent, WebhookCursor, WebhookSubscription

ALL_KINDS = tuple(dict.fromkeys(KINDS.values()))


def subscription_json(sub: WebhookSubscription) -> dict:
    return {
        "id": sub.id,
        "name": sub.name,
        "url": sub.url,
        "kinds": sub.kinds,
        "active": sub.active,
        "start_after_id": sub.start_after_id,
        "created_at": sub.created_at,
        "created_by": sub.created_by,
    }


def create(service, actor: Actor, name: str, url: str, kinds: list[str], secret: str | None) -> tuple[dict, str]:
    """A new subscription hearing events committed from now on. Returns (subscription, secret):
    the secret is shown once, to configure the receiver's signature check."""
    check_url(url, service.settings.webhook_hosts)
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad or not kinds:
        raise Invalid("事件类型无效", "unknown event kind", {"kinds": [f"可选 / one of: {', '.join(ALL_KINDS)}"]})
    secret = secret or secrets.token_urlsafe(32)
    now = service.now()
    with service.db.write() as s:
        start = s.scalar(select(func.max(OutboxEvent.id))) or 0
        sub = WebhookSubscription(
            name=name,
            url=url,
            kinds=list(dict.fromkeys(kinds)),
            secret=secret,
            active=True,
            start_after_id=start,
            created_at=now,
            created_by=actor.username,
        )
        s.add(sub)
        s.flush()
        record_standalone(
            s,
            now,
            "webhook_subscribed",
            actor.username,
            None,
            {"subscription_id": sub.id, "name": name, "url": url, "kinds": sub.kinds},
        )
        return subscription_json(sub), secret


def listing(service) -> list[dict]:
    with service.db.read() as s:
        dead = dict(
            s.execute(
                select(WebhookCursor.subscription_id, func.count())
                .where(WebhookCursor.status == "dead")
                .group_by(WebhookCursor.subscription_id)
            ).all()
        )
        delivered = dict(
            s.execute(
                select(WebhookCursor.subscription_id, func.sum(WebhookCursor.delivered)).group_by(
                    WebhookCursor.subscription_id
                )
            ).all()
        )
        return [
            dict(subscription_json(sub), dead_letters=dead.get(sub.id, 0), delivered=int(delivered.get(sub.id) or 0))
            for sub in s.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
        ]


def deactivate(service, actor: Actor, sub_id: int) -> dict:
    now = service.now()
    with service.db.write() as s:
        sub = _get(s, sub_id)
        sub.active = False
        record_standalone(s, now, "webhook_unsubscribed", actor.username, None, {"subscription_id": sub.id})
        return subscription_json(sub)


def dead_letters(service, subscription_id: int | None = None) -> list[dict]:
    """Each case whose delivery stopped: the event that failed every try, with the last error."""
    with service.db.read() as s:
        q = select(WebhookCursor).where(WebhookCursor.status == "dead")
        if subscription_id:
            q = q.where(WebhookCursor.subscription_id == subscription_id)
        out = []
        for c in s.scalars(q.order_by(WebhookCursor.id).limit(1000)):
            ev = s.scalar(
                select(OutboxEvent)
                .where(OutboxEvent.instance_id == c.instance_id, OutboxEvent.id > c.last_event_id)
                .order_by(OutboxEvent.id)
                .limit(1)
            )
            out.append(
                {
                    "id": c.id,
                    "subscription_id": c.subscription_id,
                    "process_instance_id": c.instance_id,
                    "event_id": ev.id if ev else None,
                    "kind": ev.kind if ev else None,
                    "attempts": c.attempts,
                    "last_error": c.last_error,
                }
            )
        return out


def replay_dead(service, actor: Actor, cursor_ids: list[int] | None, subscription_id: int | None) -> int:
    """Send dead-lettered cases again from the event that failed (in order, as before)."""
    now = service.now()
    with service.db.write() as s:
        q = update(WebhookCursor).where(WebhookCursor.status == "dead")
        if cursor_ids:
            q = q.where(WebhookCursor.id.in_(cursor_ids))
        if subscription_id:
            q = q.where(WebhookCursor.subscription_id == subscription_id)
        n = s.execute(
            q.values(status="active", attempts=0, next_attempt_at=None, lease_owner=None, lease_until=None)
        ).rowcount
        record_standalone(
            s,
            now,
            "webhook_replayed",
            actor.username,
            None,
            {"dead_letters": n, "cursor_ids": cursor_ids or [], "subscription_id": subscription_id},
        )
        return n


def rewind(service, actor: Actor, sub_id: int, from_event_id: int, instance_id: int | None) -> int:
    """Deliver again every event from ``from_event_id`` on (of one case, or of all): receivers
    see repeated event ids and must treat them as the same event. Returns cursors moved back.

    Events retention has deleted cannot be sent again: a rewind to one of them is refused (409).
    The subscription's mark (``start_after_id``) goes down with the cursors, so the dispatcher's
    search sees the rewound events again (engine/integration/outbox_housekeeping.py)."""
    now = service.now()
    with service.db.write() as s:
        # The row lock first: a mark raise or a retention batch running now finishes before this
        # reads the cursors and what retention deleted, and none starts until this commits.
        sub = s.get(WebhookSubscription, sub_id, with_for_update={"key_share": True})
        if sub is None:
            raise NotFound("没有该订阅", "no such subscription")
        if not sub.active:
            raise Conflict("订阅已停用，不再推送", "the subscription is stopped: nothing is delivered to it")
        gone = pruned_through(s)
        if from_event_id <= gone:
            raise Pruned(
                f"事件 #{gone} 及之前的事件已超过保留期限被删除，无法重新推送；请从 #{gone + 1} 或之后开始",
                f"events up to #{gone} were deleted after the retention period and cannot be delivered "
                f"again; rewind to #{gone + 1} or later",
                {"from_event_id": [f"须大于 / must be greater than {gone}"]},
                first_event_id=gone + 1,
            )
        back = from_event_id - 1
        conds = [WebhookCursor.subscription_id == sub.id, WebhookCursor.last_event_id > back]
        if instance_id is not None:
            conds.append(WebhookCursor.instance_id == instance_id)
        # Clearing the lease stops a dispatcher delivering this case right now: its next cursor
        # update checks the lease and the position it started from.
        n = s.execute(
            update(WebhookCursor)
            .where(*conds)
            .values(
                last_event_id=back,
                status="active",
                attempts=0,
                next_attempt_at=None,
                lease_owner=None,
                lease_until=None,
            )
        ).rowcount
        if sub.start_after_id > back:
            if instance_id is not None:
                _hold_other_cases(s, sub, back, service.db.is_postgres)
            sub.start_after_id = back
        record_standalone(
            s,
            now,
            "webhook_rewound",
            actor.username,
            None,
            {
                "subscription_id": sub.id,
                "from_event_id": from_event_id,
                "process_instance_id": instance_id,
                "cursors": n,
            },
        )
        return n


def _hold_other_cases(s, sub: WebhookSubscription, back: int, postgres: bool) -> None:
    """One case's rewind lowers the mark below events of cases that never had a cursor (events
    from before the subscription): those cases get a cursor at the old mark, so lowering it sends
    them nothing they were not going to get."""
    e, c = OutboxEvent, WebhookCursor
    cases = (
        select(
            literal(sub.id),
            e.instance_id,
            literal(sub.start_after_id),
            literal("active"),
            literal(0),
            literal(0),
        )
        .where(
            e.id > back,
            e.id <= sub.start_after_id,
            e.instance_id.is_not(None),
            e.kind.in_(sub.kinds),
            ~exists().where(c.subscription_id == sub.id, c.instance_id == e.instance_id),
        )
        .distinct()
    )
    insert = pg_insert if postgres else sqlite_insert
    s.execute(
        insert(WebhookCursor.__table__)
        .from_select(["subscription_id", "instance_id", "last_event_id", "status", "attempts", "delivered"], cases)
        .on_conflict_do_nothing(index_elements=["subscription_id", "instance_id"])
    )


def _get(s, sub_id: int) -> WebhookSubscription:
    sub = s.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound("没有该订阅", "no such subscription")
    return sub
