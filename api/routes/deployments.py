from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from engine.workflow.deploy import DeploymentRefused, UploadedFile

from api.errors import deployment_refused, error
from api.schemas import DeploymentResultSchema
from api.routes.common import actor, service

blp = Blueprint("deployments", __name__, url_prefix="/api/deployments",
                description="部署流程图、决策表和表单 / deploy diagrams, decision tables and forms")

MAX_FILES = 200


@blp.route("", methods=["POST"])
@blp.response(201, DeploymentResultSchema)
@blp.alt_response(422, description="部署被拒绝：[{file, line, element, message}] / refused")
def deploy():
    """部署（multipart：.bpmn .dmn .form 文件）/ Deploy (multipart: .bpmn, .dmn and form files).

    Each deployed process key gets its next version. A diagram that cannot run is refused with
    every problem found: file, line, element and message."""
    files = []
    for key in request.files:
        for f in request.files.getlist(key):
            files.append(UploadedFile(f.filename or key, f.read()))
    if not files:
        return error(422, "invalid", "没有上传文件", "no files uploaded", {"files": ["必填 / required"]}, problems=[])
    if len(files) > MAX_FILES:
        return error(422, "invalid", f"文件过多（上限 {MAX_FILES} 个）", f"too many files (max {MAX_FILES})",
                     {"files": [f"最多 {MAX_FILES} 个 / at most {MAX_FILES}"]}, problems=[])
    try:
        rows = service().deploy(files, actor())
    except DeploymentRefused as e:
        return deployment_refused(e)
    return {"deployment_id": rows[0].deployment_id if rows else None,
            "versions": [{"id": r.id, "key": r.key, "version": r.version, "name": r.name,
                          "deployment_id": r.deployment_id, "created_at": r.created_at} for r in rows]}
