"""The audit trail: append-only events, hash-chained per instance.

Each event's hash covers its content and the previous event's hash of the same instance, so an
edited, deleted or reordered row breaks the chain at that event. Events are written in the same
transaction as the state change they record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent, Instance

GENESIS = "0" * 64
_INSERT_EVENTS = insert(AuditEvent.__table__)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(
    prev_hash: str,
    instance_id: int | None,
    seq: int,
    at: datetime,
    activity_id,
    activity_name,
    transition: str,
    actor,
    role,
    task_id,
    data: dict,
) -> str:
    body = _canonical(
        [instance_id, seq, at.isoformat(), activity_id, activity_name, transition, actor, role, task_id, data]
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class Recorder:
    """Collects the events of one command for one instance and writes them with the chain."""

    def __init__(self, session: Session, instance: Instance | None, at: datetime, actor: str | None, role: str | None):
        self.session = session
        self.instance = instance
        self.at = at
        self.actor = actor
        self.role = role
        self.rows: list[dict] = []
        self.written: list[dict] = []  # every event of this recorder, for a caller's answer
        session.info.setdefault("audit_recorders", []).append(self)
        # The chain's head is kept here and written to the instance row once, when the events
        # are flushed: touching the row for every event would make the ORM update it (and its
        # version counter) again before every query of the command.
        heads = session.info.setdefault("audit_heads", {})
        if instance is not None:
            self.seq, self.head = heads.get(instance.id, (instance.last_seq, instance.last_hash or GENESIS))

    def add(
        self,
        transition: str,
        activity_id: str | None = None,
        activity_name: str | None = None,
        data: dict | None = None,
        task_id: str | None = None,
        actor: str | None = ...,
        role: str | None = ...,
    ) -> dict:
        inst = self.instance
        seq = self.seq + 1
        prev = self.head
        actor = self.actor if actor is ... else actor
        role = self.role if role is ... else role
        data = json.loads(_canonical(data or {}))
        h = event_hash(prev, inst.id, seq, self.at, activity_id, activity_name, transition, actor, role, task_id, data)
        row = dict(
            instance_id=inst.id,
            process_key=inst.process_key,
            seq=seq,
            at=self.at,
            activity_id=activity_id,
            activity_name=activity_name,
            transition=transition,
            actor=actor,
            role=role,
            task_id=task_id,
            data=data,
            prev_hash=prev,
            hash=h,
        )
        self.seq, self.head = seq, h
        self.session.info["audit_heads"][inst.id] = (seq, h)
        self.rows.append(row)
        self.written.append(row)
        return row

    def flush(self) -> None:
        """Write the collected events in one statement (executemany), inside the command's
        transaction."""
        if self.rows:
            # Core executemany: one statement for all of the command's events
            self.session.connection().execute(_INSERT_EVENTS, self.rows)
            self.rows = []
            inst = self.instance
            if (inst.last_seq, inst.last_hash) != (self.seq, self.head):
                inst.last_seq, inst.last_hash = self.seq, self.head


def record_standalone(
    session: Session,
    at: datetime,
    transition: str,
    actor: str,
    role: str | None,
    data: dict,
    process_key: str | None = None,
    activity_id: str | None = None,
    activity_name: str | None = None,
) -> None:
    """An event outside any case's chain (a deployment, an incident, a clock move): its own
    one-event chain from GENESIS, written in the caller's transaction."""
    data = json.loads(_canonical(data or {}))
    h = event_hash(GENESIS, None, 1, at, activity_id, activity_name, transition, actor, role, None, data)
    session.connection().execute(
        _INSERT_EVENTS,
        [
            dict(
                instance_id=None,
                process_key=process_key,
                seq=1,
                at=at,
                activity_id=activity_id,
                activity_name=activity_name,
                transition=transition,
                actor=actor,
                role=role,
                task_id=None,
                data=data,
                prev_hash=GENESIS,
                hash=h,
            )
        ],
    )


@event.listens_for(Session, "before_commit")
def _flush_pending_events(session: Session) -> None:
    # A recorder's rows are written at the latest when its transaction commits, so no event
    # can be forgotten by a caller that did not flush explicitly.
    for rec in session.info.pop("audit_recorders", []):
        rec.flush()
    session.info.pop("audit_heads", None)


def verify(events: Iterable[AuditEvent]) -> tuple[bool, int | None]:
    """Recompute the chain; returns (ok, seq of the first broken event)."""
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq or ev.prev_hash != prev:
            return False, ev.seq
        h = event_hash(
            prev,
            ev.instance_id,
            ev.seq,
            ev.at,
            ev.activity_id,
            ev.activity_name,
            ev.transition,
            ev.actor,
            ev.role,
            ev.task_id,
            ev.data,
        )
        if h != ev.hash:
            return False, ev.seq
        prev = h
        expected_seq += 1
    return True, None


def verify_instance(session: Session, instance: Instance) -> tuple[bool, int | None]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.seq)
    ).all()
    ok, broken = verify(events)
    if ok and events and events[-1].hash != instance.last_hash:
        # The newest events were deleted: the instance remembers a later head.
        return False, events[-1].seq + 1
    if ok and not events and instance.last_seq:
        return False, 1
    return ok, broken
