"""Messages to waiting cases: from another system (``POST /api/messages``) or thrown by a case
(queued with the step that threw it, engine/service/message_queue.py).

Correlation: by business key (the case's ``business_key``; a thrown message carries its sender's),
and/or by correlation properties — case variables that must hold the given values. A message goes
to every running case that waits for it and matches (each in its own transaction). One that
matches no waiting case is kept for ``SIJI_MESSAGE_TTL`` seconds and delivered when a case starts
waiting for it (the router in ``siji dispatch``), or, with the TTL 0, refused (404). A message a
case threw is always tried at least once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from engine.service.errors import NotFound
from engine.service.message_steps import deliver_to_case
from engine.store.models import Instance, PendingMessage
from engine.workflow.messages import catches_message

log = logging.getLogger("siji.messages")
BATCH = 100


def candidates(service, name: str, business_key: str | None) -> list[int]:
    """Running cases that could wait for ``name``: of versions with a catch event for it, and with
    the business key when one is given."""
    with service.db.read() as s:
        versions = [v for (v,) in s.execute(select(Instance.version_id).where(Instance.status == "running").distinct())]
        wanted = []
        for vid in versions:
            pv = service.version(s, vid)
            if catches_message(pv.spec, pv.subprocess_specs, name):
                wanted.append(vid)
        if not wanted:
            return []
        q = select(Instance.id).where(Instance.status == "running", Instance.version_id.in_(wanted))
        if business_key is not None:
            q = q.where(Instance.business_key == business_key)
        return [i for (i,) in s.execute(q.order_by(Instance.id))]


def deliver(
    service,
    name: str,
    business_key: str | None,
    correlation: dict,
    payload: dict,
    result_var: str | None,
    sender: str,
    exclude: int | None = None,
) -> list[int]:
    out = []
    for iid in candidates(service, name, business_key):
        if iid != exclude and deliver_to_case(service, iid, name, payload, result_var, correlation, sender):
            out.append(iid)
    return out


def send(
    service, sender: str, name: str, business_key: str | None, correlation: dict, payload: dict, result_var: str | None
) -> dict:
    """Deliver now; else keep (TTL) or refuse."""
    delivered = deliver(service, name, business_key, correlation, payload, result_var, sender)
    if delivered:
        return {"status": "delivered", "delivered_to": delivered}
    ttl = service.settings.message_ttl
    if ttl <= 0:
        raise NotFound(
            "没有等待该消息的案件",
            f"no running case waits for message '{name}' with that correlation",
            {"name": ["无匹配的等待案件 / no waiting case matches"]},
        )
    now = service.now()
    with service.db.write() as s:
        row = PendingMessage(
            name=name,
            business_key=business_key,
            correlation=correlation,
            payload=payload,
            result_var=result_var,
            source_instance_id=None,
            status="pending",
            tries=1,
            delivered_to=None,
            created_at=now,
        )
        s.add(row)
        s.flush()
        return {"status": "kept", "message_id": row.id, "expires_at": (now + timedelta(seconds=ttl)).isoformat()}


class MessageRouter:
    """Delivers queued messages (thrown by cases, or kept for later) to the cases that wait for them."""

    def __init__(self, service):
        self.service = service

    def run_once(self) -> int:
        svc = self.service
        now, ttl = svc.now(), timedelta(seconds=svc.settings.message_ttl)
        with svc.db.read() as s:
            rows = s.scalars(
                select(PendingMessage)
                .where(PendingMessage.status == "pending")
                .order_by(PendingMessage.id)
                .limit(BATCH)
            ).all()
        done = 0
        for m in rows:
            delivered = deliver(
                svc,
                m.name,
                m.business_key,
                m.correlation or {},
                m.payload or {},
                m.result_var,
                "message",
                exclude=m.source_instance_id,
            )
            expired = not delivered and m.tries >= 1 and m.created_at + ttl <= now
            status = "delivered" if delivered else ("expired" if expired else "pending")
            with svc.db.write() as s:
                # the status condition: two routers racing deliver a message at most once more
                s.execute(
                    update(PendingMessage)
                    .where(PendingMessage.id == m.id, PendingMessage.status == "pending")
                    .values(status=status, tries=PendingMessage.tries + 1, delivered_to=delivered or None)
                )
            if delivered:
                done += 1
                log.info("message %s (%s) delivered to %s", m.id, m.name, delivered)
        return done
