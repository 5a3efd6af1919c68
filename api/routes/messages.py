"""Messages to waiting cases from other systems (core: engine/integration/messages.py)."""

from __future__ import annotations

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas_integration import MessageResultSchema, MessageSchema
from engine.integration import messages
from engine.service.errors import Invalid

blp = Blueprint("messages", __name__, url_prefix="/api/messages", description="流程消息 / BPMN messages to cases")


@blp.route("", methods=["POST"])
@blp.arguments(MessageSchema)
@blp.response(200, MessageResultSchema)
@blp.alt_response(202, schema=MessageResultSchema, description="暂存，等待案件 / kept for a case that waits later")
def send_message(body):
    """向等待中的案件发送消息（按业务号或案件变量关联）/ Send a message to the running cases that wait
    for it, correlated by business key and/or case variables. No waiting case: kept for
    SIJI_MESSAGE_TTL seconds (202) or refused (404)."""
    if not body.get("business_key") and not body["correlation"]:
        raise Invalid(
            "须指明关联条件",
            "give a business_key or correlation values",
            {"business_key": ["业务号或关联变量必填其一 / business_key or correlation required"]},
        )
    out = messages.send(
        service(),
        actor().username,
        body["name"],
        body.get("business_key"),
        body["correlation"],
        body["payload"],
        body.get("result_variable"),
    )
    return out, (202 if out["status"] == "kept" else 200)
