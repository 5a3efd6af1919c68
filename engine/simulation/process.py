"""Which diagram to simulate: a process key (its files under bpmn/ and forms/, as ``siji deploy
bpmn forms`` deploys them) or a .bpmn file, compiled by the service's own deploy step
(engine/workflow/deploy.py ``compile_deployment``), so a diagram the service would refuse is refused here too.
"""

from __future__ import annotations

from pathlib import Path

from engine.workflow.deploy import CompiledProcess, DeploymentRefused, UploadedFile, compile_deployment

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
