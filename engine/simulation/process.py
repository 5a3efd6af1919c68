"""Which diagram to simulate: a process key (its files under bpmn/ and forms/, as ``siji deploy
bpmn forms`` deploys them) or a .bpmn file, compiled by the service's own deploy step
(engine/workflow/deploy.py ``compile_deployment``), so a diagram the service would refuse is refused here too;
or a version deployed in the service's database (``deployed_process``), exactly as the service runs it
— the analyst's latest upload from the modeler included.
"""

from __future__ import annotations

from pathlib import Path

from engine.workflow.deploy import CompiledProcess, DeploymentRefused, UploadedFile, compile_deployment
from engine.workflow.deploy_model import TaskInfo

ROOT = Path(__file__).resolve().parents[2]


class ProcessNotFound(ValueError):
    pass


def resolve(process_or_file: str, root: Path = ROOT) -> Path:
    p = Path(process_or_file)
    if p.suffix == ".bpmn":
        if not p.is_file():
            raise ProcessNotFound(f"没有此文件 / no such file: {p}")
        return p
    candidate = root / "bpmn" / f"{process_or_file}.bpmn"
    if not candidate.is_file():
        raise ProcessNotFound(f"bpmn/ 中没有流程 “{process_or_file}” / no process {process_or_file!r} in bpmn/")
    return candidate


def files_for(bpmn: Path, root: Path = ROOT) -> list[UploadedFile]:
    """The diagram plus what it needs: DMN tables and the catalogue beside it or in bpmn/, the
    process's settings, and its forms from forms/<key>/ (a variant diagram keeps the process id of
    the flow it varies, so it reuses that flow's forms) and from a forms/ folder beside it."""
    out = [UploadedFile(bpmn.name, bpmn.read_bytes())]
    key = _process_id(bpmn)
    seen = {bpmn.name}
    for folder in dict.fromkeys([bpmn.parent, root / "bpmn"]):
        for f in sorted(folder.glob("*")):
            if f.name in seen or not f.is_file():
                continue
            if f.suffix == ".dmn" or f.name == "catalogue.json" or f.name == f"{key}.settings.json":
                out.append(UploadedFile(f.name, f.read_bytes()))
                seen.add(f.name)
    forms: dict[str, bytes] = {}
    for folder in (root / "forms" / key, bpmn.parent / "forms" / key):
        if folder.is_dir():
            for f in sorted(folder.glob("*.form")):
                forms[f"forms/{key}/{f.name}"] = f.read_bytes()  # the variant's own forms win
    out += [UploadedFile(name, data) for name, data in forms.items()]
    return out


def _process_id(bpmn: Path) -> str:
    from engine.workflow import xmlsafe
    from engine.workflow.deploy import NS

    tree = xmlsafe.parse(bpmn.read_bytes())
    ids = tree.getroot().xpath("./bpmn:process[@isExecutable='true']/@id", namespaces=NS)
    if not ids:
        raise ProcessNotFound(f"{bpmn}: 没有可执行的流程 / no executable process")
    return str(ids[0])


def compile_process(process_or_file: str, root: Path = ROOT) -> CompiledProcess:
    bpmn = resolve(process_or_file, root)
    try:
        compiled = compile_deployment(files_for(bpmn, root))
    except DeploymentRefused as e:
        lines = [f"{p.file}:{p.line or '-'}: [{p.element or '-'}] {p.message}" for p in e.problems]
        raise ProcessNotFound("流程无法部署 / the diagram would be refused:\n" + "\n".join(lines)) from None
    return compiled[0]


def deployed_process(database_url: str, key: str, version: int | None = None) -> tuple[CompiledProcess, int]:
    """Version ``version`` (default: the latest) of flow ``key`` as stored by the service, and its
    number: its stored spec, tasks, forms, DMN tables and settings, read once; the database is
    not written."""
    from sqlalchemy import select
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from engine.store.db import Database
    from engine.store.models import ProcessVersionRow
    from engine.workflow.serializer import spec_from_state

    where = make_url(database_url).render_as_string(hide_password=True)
    db = Database(database_url)
    try:
        with db.read() as s:
            q = select(ProcessVersionRow).where(ProcessVersionRow.key == key)
            q = (
                q.where(ProcessVersionRow.version == version)
                if version
                else q.order_by(ProcessVersionRow.version.desc())
            )
            try:
                row = s.scalars(q.limit(1)).first()
            except DBAPIError as e:
                raise ProcessNotFound(
                    f"无法读取已部署的流程（数据库未建立或无法连接）/ cannot read deployed flows from {where}: "
                    f"{str(e.orig).strip().splitlines()[0]}"
                ) from None
            if row is None:
                which = f"第 {version} 版" if version else "任何版本"
                raise ProcessNotFound(
                    f"数据库中没有流程 “{key}” 的{which} / no deployed {key!r}"
                    + (f" version {version}" if version else "")
                    + f" in {where}"
                )
            spec, subs = spec_from_state(row.spec_state)
            compiled = CompiledProcess(
                key=row.key,
                name=row.name,
                bpmn_file=row.bpmn_file,
                bpmn_xml=row.bpmn_xml,
                spec_state=row.spec_state,
                tasks={aid: TaskInfo(**info) for aid, info in row.tasks.items()},
                elements=row.elements,
                start_form=row.start_form,
                starter_roles=row.starter_roles,
                resources=row.resources,
                spec=spec,
                subprocess_specs=subs,
            )
            return compiled, row.version
    finally:
        db.dispose()
