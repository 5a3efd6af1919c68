"""``/metrics`` in the Prometheus text format (engine/integration/metrics.py)."""

from __future__ import annotations

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.blueprint import Blueprint
from api.routes.common import service
from engine.integration.metrics import render

blp = Blueprint("metrics", __name__, url_prefix="/metrics", description="Prometheus 指标 / Prometheus metrics")


@blp.route("")
def metrics():
    """Prometheus 指标（需令牌：Prometheus 的 authorization 配置）/ Prometheus metrics (bearer token,
    see Prometheus' `authorization` scrape setting)."""
    return Response(
        render(service()), mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
