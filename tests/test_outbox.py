"""Outgoing case events are written in the transaction of the change they report: one per
case start, task created, claimed, released, completed and case end, in the case's order, and
none for a refused command."""

from __future__ import annotations

from sqlalchemy import select
from test_api_core import GOOD_START, MINI


def outbox(siji, iid):
    from engine.store.models import OutboxEvent

    with siji.service.db.read() as s:
        return [
            (e.kind, e.task_id is not None, e.role, e.payload["activity_id"])
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.instance_id == iid).order_by(OutboxEvent.id))
        ]


def test_a_case_publishes_its_events_in_order(siji):
    siji.deploy_paths(MINI)
    iid = siji.start("mini", "ent_a", GOOD_START)["id"]
    task = siji.task_for("bureau", iid, "Task_Review")
    assert outbox(siji, iid) == [
        ("case_started", False, "applicant", None),
        ("task_created", True, "approval_bureau", "Task_Review"),
    ]
    siji.ok(siji.post(f"/api/tasks/{task['id']}/claim", "bureau"))
    siji.ok(siji.post(f"/api/tasks/{task['id']}/unclaim", "bureau"))
    # refused: invalid data writes nothing, the outbox included
    assert (
        siji.post(
            f"/api/tasks/{task['id']}/complete", "bureau", json={"data": {"complete": "not a boolean"}}
        ).status_code
        == 422
    )
    siji.complete("bureau", iid, "Task_Review", {"complete": True})
    kinds = [k for k, *_ in outbox(siji, iid)]
    assert kinds == ["case_started", "task_created", "task_claimed", "task_released", "task_completed", "case_ended"], (
        kinds
    )
    # the outbox follows the audit trail: each event names the trace event it reports
    from engine.store.models import AuditEvent, OutboxEvent

    with siji.service.db.read() as s:
        seqs = [
            e.payload["seq"]
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.instance_id == iid).order_by(OutboxEvent.id))
        ]
        trace = {e.seq: e.transition for e in s.scalars(select(AuditEvent).where(AuditEvent.instance_id == iid))}
    assert seqs == sorted(seqs)
    assert [trace[q] for q in seqs] == [
        "instance_started",
        "scheduled",
        "claim",
        "unclaim",
        "complete",
        "instance_completed",
    ]
