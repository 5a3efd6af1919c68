"""Outgoing case events (the outbox pattern): written in the same transaction as the change they
report, so an event exists exactly when its change committed. Delivery to the departments' own
systems reads the table afterwards, at least once and in id order per case (a case's commands are
serialized by its row lock, so ids follow the case's order). Events every subscription has had are
deleted after ``SIJI_OUTBOX_RETENTION_DAYS`` (engine/integration/outbox_housekeeping.py).

The events are derived from the audit events a command wrote: one vocabulary for what happened,
so the trace and what the departments' systems hear cannot disagree.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.store.models import OutboxEvent

# audit transition → outbox kind
KINDS = {
    "instance_started": "case_started",
    "instance_completed": "case_ended",
    "scheduled": "task_created",
    "claim": "task_claimed",
    "unclaim": "task_released",
    "complete": "task_completed",
    "reassign": "task_reassigned",
    "release": "task_released",
    "delegate": "task_delegated",
    "deadline_reminder": "reminder",
    "deadline_overdue": "overdue",
    "escalated": "escalation",
}
_INSERT = insert(OutboxEvent.__table__)


def publish(session: Session, events: list[dict]) -> int:
    """Queue the outbox events of audit events ``events`` (rows as the Recorder wrote them) in
    the caller's transaction. Returns how many were queued."""
    rows = []
    for ev in events:
        kind = KINDS.get(ev["transition"])
        if kind is None:
            continue
        rows.append(
            dict(
                kind=kind,
                instance_id=ev["instance_id"],
                process_key=ev["process_key"],
                task_id=ev["task_id"],
                role=ev["role"],
                created_at=ev["at"],
                payload={
                    "activity_id": ev["activity_id"],
                    "activity_name": ev["activity_name"],
                    "actor": ev["actor"],
                    "seq": ev["seq"],
                    "data": ev["data"],
                },
            )
        )
    if rows:
        session.connection().execute(_INSERT, rows)
    return len(rows)
