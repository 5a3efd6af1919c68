from __future__ import annotations

from sqlalchemy import text

from api.blueprint import Blueprint
from api.routes.common import service
from api.schemas import HealthSchema

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
        # a 503 is documented as the error body: error and message alongside the health fields
        from api.errors import error

        return error(503, "unavailable", "数据库暂不可用，请稍后重试", "database unavailable; retry later", **body)
    return body
