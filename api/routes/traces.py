"""Audit traces: one case's trace (JSON, CSV, XES), its hash-chain check, and streamed exports of
many cases (JSON, CSV, XES, OCEL 2.0) for process-mining tools."""

from __future__ import annotations

import re

from flask import Response, jsonify, stream_with_context
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from api.blueprint import Blueprint
from api.case_query import CaseFilterQuery, trace_filter
from api.routes.common import actor, service
from api.schemas import QuerySchema
from engine.audit import export
from engine.audit.chain import verify_instance
from engine.service.errors import NotFound
from engine.service.visibility import instance_filter
from engine.store.models import Instance

blp = Blueprint(
    "traces",
    __name__,
    url_prefix="/api",
    description="审计轨迹与导出 / audit traces and exports (JSON, CSV, XES, OCEL 2.0)",
)


class TraceFormatQuery(QuerySchema):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv", "xes"]),
        metadata={"description": "json | csv | xes"},
    )


class ExportQuery(CaseFilterQuery):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(list(export.FORMATS)),
        metadata={"description": "json | csv | xes | ocel"},
    )


class VerifySchema(Schema):
    process_instance_id = fields.Integer()
    ok = fields.Boolean()
    broken_at = fields.Integer(allow_none=True)
    events = fields.Integer()


def _download(body, fmt: str, filename: str) -> Response:
    resp = Response(body, content_type=export.MEDIA_TYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}.{export.EXTENSIONS[fmt]}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@blp.route("/process-instances/<int:instance_id>/trace")
@blp.arguments(TraceFormatQuery, location="query")
def instance_trace(query, instance_id):
    """一个案件的审计轨迹 / One case's audit trail: every event in order with its time, activity,
    lifecycle transition, actor, role, data and chain hash. `?format=json|csv|xes`."""
    svc = service()
    me = actor()
    visible = instance_filter(me)
    with svc.db.read() as s:
        q = select(Instance.id).where(Instance.id == instance_id)
        if visible is not True:
            q = q.where(visible)
        if s.scalar(q) is None:
            raise NotFound("案件不存在", "no such case")
    case = next(export.iter_cases(svc.db, export.TraceFilter(instance_ids=[instance_id]), batch=1), None)
    if case is None:
        raise NotFound("案件不存在", "no such case")
    fmt = query["format"]
    if fmt == "json":
        return jsonify(export.case_json(case))
    return _download("".join(export.single_trace(fmt, case)), fmt, f"trace-{instance_id}")


@blp.route("/process-instances/<int:instance_id>/trace/verify")
@blp.response(200, VerifySchema)
def verify_trace(instance_id):
    """校验审计链 / Recompute the case's hash chain: `{"ok": true|false, "broken_at": seq|null}`;
    `broken_at` is the first event whose content, order or link does not match (an edited, inserted
    or deleted row), or the seq after the last when the newest events were deleted."""
    svc = service()
    from engine.store.models import AuditEvent

    with svc.db.read() as s:
        inst = s.get(Instance, instance_id)
        if inst is None:
            raise NotFound("案件不存在", "no such case")
        ok, broken = verify_instance(s, inst)
        n = s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.instance_id == instance_id))
    return {"process_instance_id": instance_id, "ok": ok, "broken_at": broken, "events": n}


@blp.route("/traces")
@blp.arguments(ExportQuery, location="query")
def export_traces(query):
    """导出多个案件的轨迹（流式）/ Export the traces of many cases, streamed as they are read:
    `?process_key=&from=&to=&status=&department=&overdue=&format=json|csv|xes|ocel` (the case
    list's filters). `from`/`to` select cases by the time they were started. The header
    `X-Case-Count` tells how many cases follow (a page shows the download's progress). XES follows IEEE 1849-2016 (concept, time, lifecycle, org, identity);
    OCEL 2.0 JSON links each event to its case, enterprise, permit/project and department."""
    svc = service()
    me = actor()
    flt = trace_filter(query, svc.now())
    visible = instance_filter(me)
    fmt = query["format"]
    meta = dict(flt.as_dict(), exported_at=export.utc_iso(svc.now()), exported_by=me.username)
    with svc.db.read() as s:
        count = s.scalar(
            select(func.count(Instance.id)).where(*flt.conditions(), *([visible] if visible is not True else []))
        )
    chunks = export.stream(fmt, export.iter_cases(svc.db, flt, visible), meta)
    key = re.sub(r"[^A-Za-z0-9_.-]", "_", flt.process_key or "all")
    name = f"traces-{key}-{svc.now().astimezone(export.CHINA):%Y%m%d}"
    resp = _download(stream_with_context(chunks), fmt, name)
    resp.headers["X-Case-Count"] = str(count)
    return resp
