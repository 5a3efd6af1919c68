from __future__ import annotations

from sqlalchemy import func, select

from api.blueprint import Blueprint
from api.routes.common import actor, paginate, service
from api.schemas import IncidentPageSchema, IncidentQuery, IncidentResolveSchema, IncidentSchema
from api.schemas_integration import IncidentRetrySchema
from engine.integration.incident_retry import RETRYABLE
from engine.integration.incident_retry import retry_incident as retry
from engine.service.incidents import resolve_by_hand
from engine.store.models import Incident

blp = Blueprint(
    "incidents", __name__, url_prefix="/api/incidents", description="引擎故障记录 / incidents (failed engine steps)"
)


def _item(i: Incident) -> dict:
    return {
        "id": i.id,
        "process_instance_id": i.instance_id,
        "process_key": i.process_key,
        "activity_id": i.activity_id,
        "activity_name": i.activity_name,
        "command": i.command,
        "message": i.message,
        "actor": i.actor,
        "created_at": i.created_at,
        "retryable": i.command in RETRYABLE,
        "status": i.status,
        "resolved_at": i.resolved_at,
        "resolved_by": i.resolved_by,
        "resolution": i.resolution,
        "resolution_note": i.resolution_note,
    }


@blp.route("")
@blp.arguments(IncidentQuery, location="query")
@blp.response(200, IncidentPageSchema)
def list_incidents(query):
    """失败的引擎步骤 / Engine steps that failed and left their case unchanged. By default the open
    ones (still needing attention); `status=resolved` the handled ones, `status=all` both."""
    conds = []
    if query.get("process_instance_id"):
        conds.append(Incident.instance_id == query["process_instance_id"])
    if query["status"] != "all":
        conds.append(Incident.status == query["status"])
    with service().db.read() as s:
        rows, total = paginate(
            s,
            select(Incident).where(*conds).order_by(Incident.id.desc()),
            query["page"],
            query["per_page"],
            select(func.count(Incident.id)).where(*conds),
        )
    return {
        "items": [_item(i) for (i,) in rows],
        "page": query["page"],
        "per_page": query["per_page"],
        "total": total,
    }


@blp.route("/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, IncidentRetrySchema)
def retry_incident(incident_id):
    """重试故障 / Retry an incident: a connector call that failed after its retries is queued
    again (the case waits at its service task); a timer step that failed is run now, the admin
    named in the case's trace. Other steps (start, complete, message) are redone by whoever sent
    them: 409 saying who. Audited (`connector_retried`, `incident_retried`). The incident is
    resolved (`retried`) when the step succeeds: a timer step at once, a connector call when the
    worker's call and the step after it succeed; a retry that fails again leaves it open."""
    return retry(service(), actor(), incident_id)


@blp.route("/<int:incident_id>/resolve", methods=["POST"])
@blp.arguments(IncidentResolveSchema)
@blp.response(200, IncidentSchema)
def resolve_incident(body, incident_id):
    """标记已处理 / Mark an open incident handled, with a note (who, when and the note are kept and
    audited as `incident_resolved`). 409 when it is resolved already. Nothing else changes: a
    connector call parked on it still waits for a retry."""
    resolve_by_hand(service(), actor(), incident_id, body["note"])
    with service().db.read() as s:
        return _item(s.get(Incident, incident_id))
