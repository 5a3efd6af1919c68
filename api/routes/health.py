from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import text

from api.schemas import HealthSchema
from api.routes.common import service

blp = Blueprint("health", __name__, url_prefix="/api", description="服务状态 / service health")


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.doc(security=[])
def health():
    """服务是否可用（无需登录）/ Is the service up (no auth)."""
    svc = service()
    try:
        with svc.db.read() as s:
            s.execute(text("SELECT 1"))
        db = "ok"
    except Exception:
        db = "unavailable"
    body = {"status": "ok" if db == "ok" else "degraded", "database": db, "now": svc.now().isoformat()}
    if db != "ok":
        from flask import jsonify
        # a 503 is documented as the error body: error and message alongside the health fields
        body.update(error="unavailable", message="数据库暂不可用，请稍后重试 / database unavailable; retry later")
        return jsonify(body), 503
    return body


