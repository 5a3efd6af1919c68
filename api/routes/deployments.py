from __future__ import annotations

from flask import request

from api.blueprint import Blueprint
from api.errors import deployment_refused, error
from api.routes.common import actor, service
from api.schemas import DeploymentResultSchema
from engine.workflow.deploy import DeploymentRefused, UploadedFile

blp = Blueprint(
    "deployments",
    __name__,
    url_prefix="/api/deployments",
    description="部署流程图、决策表和表单 / deploy diagrams, decision tables and forms",
)

MAX_FILES = 200


@blp.route("", methods=["POST"])
@blp.response(201, DeploymentResultSchema)
@blp.alt_response(
    200, schema=DeploymentResultSchema, description="没有变化，未建新版本 / nothing changed, no new version"
)
@blp.alt_response(422, description="部署被拒绝：[{file, line, element, message}] / refused")
def deploy():
    """部署（multipart：.bpmn .dmn .form 文件）/ Deploy (multipart: .bpmn, .dmn and form files).

    Each deployed process key gets its next version; with the form field
    ``only_changed=true`` (duplicate filtering) a process whose files equal its latest version's
    gets none (``new: false``). ``changed`` lists what differs from the version before. A diagram
    that cannot run is refused with every problem found: file, line, element and message."""
    only_changed = (request.form.get("only_changed") or "").lower() in ("1", "true", "yes")
    files = []
    for key in request.files:
        for f in request.files.getlist(key):
            files.append(UploadedFile(f.filename or key, f.read()))
    if not files:
        return error(422, "invalid", "没有上传文件", "no files uploaded", {"files": ["必填 / required"]}, problems=[])
    if len(files) > MAX_FILES:
        return error(
            422,
            "invalid",
            f"文件过多（上限 {MAX_FILES} 个）",
            f"too many files (max {MAX_FILES})",
            {"files": [f"最多 {MAX_FILES} 个 / at most {MAX_FILES}"]},
            problems=[],
        )
    try:
        deployed = service().deploy(files, actor(), only_changed)
    except DeploymentRefused as e:
        return deployment_refused(e)
    new = [d for d in deployed if d.new]
    body = {
        "deployment_id": new[0].deployment_id if new else None,
        "versions": [
            {
                "id": d.id,
                "key": d.key,
                "version": d.version,
                "name": d.name,
                "deployment_id": d.deployment_id,
                "created_at": d.created_at,
                "new": d.new,
                "changed": d.changed,
            }
            for d in deployed
        ],
    }
    return body, (201 if new else 200)
