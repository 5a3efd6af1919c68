from __future__ import annotations

from flask import Response
from sqlalchemy import select

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas import CarryOverQuery, DefinitionListSchema, DefinitionSchema, VersionQuery
from engine import roles
from engine.forms.compile import walk_components
from engine.service import carry_over
from engine.service.errors import Invalid, NotFound
from engine.store.models import ProcessVersionRow

blp = Blueprint(
    "definitions",
    __name__,
    url_prefix="/api/process-definitions",
    description="流程定义及其版本 / process definitions and versions",
)


def _versions(session, key: str):
    return session.execute(
        select(
            ProcessVersionRow.id,
            ProcessVersionRow.version,
            ProcessVersionRow.name,
            ProcessVersionRow.deployment_id,
            ProcessVersionRow.created_at,
            ProcessVersionRow.starter_roles,
        )
        .where(ProcessVersionRow.key == key)
        .order_by(ProcessVersionRow.version)
    ).all()


@blp.route("")
@blp.response(200, DefinitionListSchema)
def list_definitions():
    """已部署的流程（每个流程的最新版本）/ Deployed processes, latest version of each."""
    with service().db.read() as s:
        rows = s.execute(
            select(
                ProcessVersionRow.key,
                ProcessVersionRow.version,
                ProcessVersionRow.name,
                ProcessVersionRow.starter_roles,
            ).order_by(ProcessVersionRow.key, ProcessVersionRow.version)
        ).all()
    by_key: dict[str, dict] = {}
    for key, version, name, starters in rows:
        d = by_key.setdefault(key, {"key": key, "versions": []})
        d.update(name=name, latest_version=version, starter_roles=starters)
        d["versions"].append(version)
    return {"items": list(by_key.values())}


def _row(session, key: str, version: int | None) -> ProcessVersionRow:
    q = select(ProcessVersionRow).where(ProcessVersionRow.key == key)
    q = q.where(ProcessVersionRow.version == version) if version else q.order_by(ProcessVersionRow.version.desc())
    row = session.scalars(q.limit(1)).first()
    if row is None:
        raise NotFound("没有该流程或版本", f"no process '{key}'" + (f" version {version}" if version else ""))
    return row


@blp.route("/<string:key>")
@blp.arguments(VersionQuery, location="query")
@blp.response(200, DefinitionSchema)
def get_definition(query, key):
    """一个流程：版本列表、开始表单及其选项、用户任务及其部门 / One process: versions, start form, tasks."""
    svc = service()
    with svc.db.read() as s:
        row = _row(s, key, query.get("version"))
        versions = _versions(s, key)
        pv = svc.version(s, row.id)
        options = svc.options(s, pv)
    start_form_data = {}
    if row.start_form:
        for comp in walk_components(row.start_form.get("components", [])):
            vk = comp.get("valuesKey")
            if vk in options:
                start_form_data[vk] = options[vk]
    return {
        "key": row.key,
        "name": row.name,
        "version": row.version,
        "latest_version": versions[-1].version,
        "versions": [v.version for v in versions],
        "starter_roles": row.starter_roles,
        "start_form": row.start_form,
        "start_form_data": start_form_data,
        # role_from: the case variable that names the department of a data-assigned task
        "tasks": [
            {
                "activity_id": a,
                "name": t["name"],
                "role": t["role"] or None,
                "role_name": roles.role_name(t["role"]) if t["role"] else None,
                "role_from": t.get("role_var"),
                "lane": t.get("lane"),
                "form_key": t["form_key"],
            }
            for a, t in row.tasks.items()
        ],
        "version_list": [
            {
                "id": v.id,
                "key": key,
                "version": v.version,
                "name": v.name,
                "deployment_id": v.deployment_id,
                "created_at": v.created_at,
            }
            for v in versions
        ],
    }


@blp.route("/<string:key>/xml")
@blp.arguments(VersionQuery, location="query")
@blp.response(200, description="BPMN 2.0 XML，可在 bpmn.io 中打开 / the XML an analyst opens in bpmn.io")
def get_xml(query, key):
    """流程图 XML（默认最新版本）/ The diagram's XML (latest version unless ?version=N)."""
    with service().db.read() as s:
        row = _row(s, key, query.get("version"))
        xml = row.bpmn_xml
    return Response(
        xml,
        mimetype="application/xml",
        headers={"Content-Disposition": f'inline; filename="{key}.v{row.version}.bpmn"'},
    )


@blp.route("/<string:key>/resources")
@blp.arguments(VersionQuery, location="query")
@blp.response(200, description="该版本的 DMN、表单与设置 / the version's DMN files, forms and settings")
def get_resource(query, key):
    """版本资源（供建模页面编辑）/ A version's DMN, forms and settings (for the modeler page)."""
    with service().db.read() as s:
        row = _row(s, key, query.get("version"))
        return {"key": key, "version": row.version, **(row.resources or {})}


@blp.route("/<string:key>/carry-over")
@blp.arguments(CarryOverQuery, location="query")
def get_carry_over(query, key):
    """另一流程已办结案件带入本流程的数据（预览，供开始表单或登记使用）/ The data a new case of
    this flow would take over from a completed case of another flow (settings `carry_over`),
    found by `from_instance`, `from_business_key` or `match` (the source's `match_field`, e.g. a
    USCC). 422 names the parameter when the source is missing, not visible or not completed at one
    of the configured outcomes."""
    svc = service()
    me = actor()
    named = {k: query[k] for k in ("from_instance", "from_business_key", "match") if query.get(k) is not None}
    if len(named) != 1:
        raise Invalid(
            "须且只能指明一个来源案件",
            "name exactly one source case",
            {"from_instance": ["from_instance、from_business_key、match 三选一 / one of the three"]},
        )
    with svc.db.read() as s:
        row = svc.latest_version(s, key)
        if row is None:
            raise NotFound("没有该流程", f"no process '{key}'")
        settings = svc.version(s, row.id).resources.get("settings")
        source, data = carry_over.take(svc, s, me, settings, carry_over.target_roles(s, key), **named)
        return {
            "process_key": key,
            "data": data,
            "source": {
                "id": source.id,
                "process_key": source.process_key,
                "business_key": source.business_key,
                "display_name": source.display_name,
                "outcome": {"id": source.outcome_id, "name": source.outcome_name},
            },
        }
