"""Messages a case's step threw, queued in the step's transaction (so a message exists exactly when
the step that sent it committed) for the message router (engine/integration/messages.py) to
deliver to the waiting cases: correlated by the sending case's business key."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.audit.chain import Recorder
from engine.store.models import Instance, PendingMessage

_INSERT = insert(PendingMessage.__table__)


def queue_thrown(s: Session, inst: Instance, messages: list[dict], rec: Recorder) -> None:
    for m in messages:
        payload = m["payload"] if isinstance(m["payload"], dict) else {"value": m["payload"]}
        s.connection().execute(
            _INSERT,
            dict(
                name=m["name"][:200],
                business_key=inst.business_key,
                correlation={},
                payload=payload,
                result_var=m.get("result_var"),
                source_instance_id=inst.id,
                status="pending",
                tries=0,
                delivered_to=None,
                created_at=rec.at,
            ),
        )
        rec.add(
            "message_sent",
            None,
            m["name"],
            {"message": m["name"], "business_key": inst.business_key},
            actor="system",
            role=None,
        )
