"""Deploying diagrams, decision tables, forms and settings: each process key gets its next
version, with the resources not uploaded taken over from the previous version."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.chain import record_standalone
from engine.service.actor import Actor
from engine.store.models import Deployment, ProcessVersionRow
from engine.workflow.deploy import Previous, UploadedFile, compile_deployment


@dataclass
class Deployed:
    """One process of a deployment: its (new or, when unchanged, latest) version row, whether a
    new version was made, and what changed against the version before."""

    row: ProcessVersionRow
    new: bool = True
    changed: list[str] = field(default_factory=list)

    def __getattr__(self, name):  # key, version, name, id, deployment_id, created_at of the row
        return getattr(self.row, name)


def latest_version(session: Session, key: str) -> ProcessVersionRow | None:
    return session.scalars(
        select(ProcessVersionRow)
        .where(ProcessVersionRow.key == key)
        .order_by(ProcessVersionRow.version.desc())
        .limit(1)
    ).first()


class _PreviousResources:
    def __init__(self, session: Session):
        self.session = session

    def get(self, key: str) -> Previous | None:
        row = latest_version(self.session, key)
        if row is None:
            return None
        r = row.resources or {}
        return Previous(
            dmn=r.get("dmn") or {}, forms=r.get("forms") or {}, settings=r.get("settings"), catalogue=r.get("catalogue")
        )


def changes(cp, row: ProcessVersionRow | None) -> list[str]:
    """What of a compiled process differs from a stored version: the diagram and each resource
    (a DMN file, a form, the settings, the catalogue) by name; everything for a first version."""
    if row is None:
        return [cp.bpmn_file]
    out = [cp.bpmn_file] if cp.bpmn_xml != row.bpmn_xml else []
    old, new = row.resources or {}, cp.resources or {}
    for kind in sorted(set(old) | set(new)):
        a, b = old.get(kind), new.get(kind)
        if isinstance(a, dict) and isinstance(b, dict) and kind in ("forms", "dmn"):
            out += [f"{kind}/{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(kind)
    return out


def deploy(service, files: list[UploadedFile], actor: Actor | None, only_changed: bool = False) -> list[Deployed]:
    """Compile every file (DeploymentRefused lists every problem, nothing stored), then store one
    new version per process with an audit event each, in one transaction.

    ``only_changed`` (duplicate filtering, as Camunda's): a process whose diagram and resources
    equal its latest version's gets no new version; its latest version is returned, not new."""
    with service.db.read() as s:
        compiled = compile_deployment(files, _PreviousResources(s), service.connectors.names())
        latest = {cp.key: latest_version(s, cp.key) for cp in compiled}
        diffs = {cp.key: changes(cp, latest[cp.key]) for cp in compiled}
    if only_changed:
        same = [Deployed(latest[cp.key], new=False) for cp in compiled if not diffs[cp.key]]
        compiled = [cp for cp in compiled if diffs[cp.key]]
        if not compiled:
            return same
    else:
        same = []
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
                deployment_id=dep.id,
                key=cp.key,
                version=(current or 0) + 1,
                name=cp.name,
                bpmn_file=cp.bpmn_file,
                bpmn_xml=cp.bpmn_xml,
                spec_state=cp.spec_state,
                tasks={k: v.as_dict() for k, v in cp.tasks.items()},
                elements=cp.elements,
                resources=cp.resources,
                start_form=cp.start_form,
                starter_roles=cp.starter_roles,
                created_at=now,
            )
            s.add(row)
            s.flush()
            record_standalone(
                s,
                now,
                "deployed",
                who,
                "analyst",
                {
                    "process_key": cp.key,
                    "version": row.version,
                    "deployment_id": dep.id,
                    "files": [f.name for f in files],
                    "changed": diffs[cp.key],
                },
                process_key=cp.key,
                activity_name=cp.name,
            )
            rows.append(Deployed(row, True, diffs[cp.key]))
    return rows + same
