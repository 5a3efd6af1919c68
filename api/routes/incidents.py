from __future__ import annotations

from sqlalchemy import func, select

from api.blueprint import Blueprint
from api.routes.common import actor, paginate, service
from api.schemas import IncidentPageSchema, IncidentQuery
from api.schemas_integration import IncidentRetrySchema
from engine.integration.incident_retry import RETRYABLE
from engine.integration.incident_retry import retry_incident as retry
from engine.store.models import Incident

blp = Blueprint(
    "incidents", __name__, url_prefix="/api/incidents", description="引擎故障记录 / incidents (failed engine steps)"
)


@blp.route("")
@blp.arguments(IncidentQuery, location="query")
@blp.response(200, IncidentPageSchema)
def list_incidents(query):
    """失败的引擎步骤 / Engine steps that failed and left their case unchanged."""
    conds = []
    if query.get("process_instance_id"):
        conds.append(Incident.instance_id == query["process_instance_id"])
    with service().db.read() as s:
        rows, total = paginate(
            s,
            select(Incident).where(*conds).order_by(Incident.id.desc()),
            query["page"],
            query["per_page"],
            select(func.count(Incident.id)).where(*conds),
        )
    return {
        "items": [
            {
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
            }
            for (i,) in rows
        ],
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
    them: 409 saying who. Audited (`connector_retried`, `incident_retried`)."""
    return retry(service(), actor(), incident_id)
