"""Deploying diagrams, decision tables, forms and settings: each process key gets its next
version, with the resources not uploaded taken over from the previous version."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.chain import record_standalone
from engine.service.actor import Actor
from engine.store.models import Deployment, ProcessVersionRow
from engine.workflow.deploy import Previous, UploadedFile, compile_deployment


def latest_version(session: Session, key: str) -> ProcessVersionRow | None:
    return session.scalars(select(ProcessVersionRow).where(ProcessVersionRow.key == key)
                           .order_by(ProcessVersionRow.version.desc()).limit(1)).first()


class _PreviousResources:
    def __init__(self, session: Session):
        self.session = session

    def get(self, key: str) -> Previous | None:
        row = latest_version(self.session, key)
        if row is None:
            return None
        r = row.resources or {}
        return Previous(dmn=r.get("dmn") or {}, forms=r.get("forms") or {}, settings=r.get("settings"),
                        catalogue=r.get("catalogue"))


def deploy(service, files: list[UploadedFile], actor: Actor | None) -> list[ProcessVersionRow]:
    """Compile every file (DeploymentRefused lists every problem, nothing stored), then store one
    new version per process with an audit event each, in one transaction."""
    with service.db.read() as s:
        compiled = compile_deployment(files, _PreviousResources(s), service.connectors.names())
    now = service.now()
    who = actor.username if actor else "system"
    with service.db.write() as s:
        dep = Deployment(created_at=now, deployed_by=actor.id if actor else None, files=[f.name for f in files])
        s.add(dep)
        s.flush()
        rows = []
        for cp in compiled:
            current = s.scalar(select(func.max(ProcessVersionRow.version)).where(ProcessVersionRow.key == cp.key))
            row = ProcessVersionRow(
                deployment_id=dep.id, key=cp.key, version=(current or 0) + 1, name=cp.name,
                bpmn_file=cp.bpmn_file, bpmn_xml=cp.bpmn_xml, spec_state=cp.spec_state,
                tasks={k: v.as_dict() for k, v in cp.tasks.items()}, elements=cp.elements,
                resources=cp.resources, start_form=cp.start_form, starter_roles=cp.starter_roles,
                created_at=now)
            s.add(row)
            s.flush()
            record_standalone(s, now, "deployed", who, "analyst",
                              {"process_key": cp.key, "version": row.version, "deployment_id": dep.id,
                               "files": [f.name for f in files]},
                              process_key=cp.key, activity_name=cp.name)
            rows.append(row)
    return rows
