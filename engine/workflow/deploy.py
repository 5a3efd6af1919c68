"""Deploy-time compilation: a set of uploaded files becomes runnable process versions or a list of
problems, each naming the file, the line and the element.

Everything that can be known before a case starts is checked here (XSD, dangling references,
ids, lanes → roles, forms, expressions, SpiffWorkflow's own ``get_spec``) so that a diagram that
cannot run is refused when it is deployed, not when someone starts it.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import roles
from engine.forms.compile import compile_form
from engine.forms.messages import FormDefinitionError
from engine.workflow import flow_settings, runnable, xmlsafe
from engine.workflow.deploy_model import (
    BPMN_NS,
    CAMUNDA_NS,
    NS,
    CompiledProcess,
    DeploymentRefused,
    Previous,
    Problem,
    TaskInfo,
    UploadedFile,
)
from engine.workflow.messages import message_problems
from engine.workflow.service_tasks import CONNECTOR_ROLE, SijiParser, connector_tasks
from engine.workflow.upload import classify
from engine.workflow.user_tasks import user_tasks
from engine.workflow.xml_checks import (
    _bpmn_validator,
    _dmn_problems,
    _expression_problems,
    _line_of,
    _local,
    _structure_problems,
    _validator_lock,
    _xsd_problems,
)


def compile_deployment(
    files: list[UploadedFile], previous: dict[str, Previous] | None = None, connectors: set[str] | None = None
) -> list[CompiledProcess]:
    """Compile uploaded files into process versions, or raise DeploymentRefused.
    ``connectors``: the names service tasks may call (engine/connectors.py)."""
    previous = previous or {}
    bpmn_files, dmn_files, forms, settings, catalogue, problems = classify(files)
    if not bpmn_files and not problems:
        problems.append(Problem("", None, None, "部署中没有 BPMN 文件 / the deployment contains no .bpmn file"))

    trees = {}
    for f in bpmn_files + dmn_files:
        try:
            trees[f.name] = xmlsafe.parse(f.data)
        except xmlsafe.UnsafeXml as e:
            problems.append(Problem(f.name, e.line, None, str(e)))
        except etree.XMLSyntaxError as e:
            problems.append(Problem(f.name, e.lineno, None, f"XML 语法错误 / malformed XML: {e.msg}"))
    if problems:
        raise DeploymentRefused(problems)

    for f in bpmn_files:
        tree = trees[f.name]
        if etree.QName(tree.getroot().tag) != etree.QName(BPMN_NS, "definitions"):
            root = tree.getroot()
            problems.append(
                Problem(
                    f.name,
                    root.sourceline,
                    root.get("id") or _local(root.tag),
                    "根元素必须是 BPMN 命名空间的 definitions / root element must be "
                    f"definitions in the BPMN namespace {BPMN_NS}",
                )
            )
            continue
        problems += _xsd_problems(f.name, tree)
        problems += _structure_problems(f.name, tree)
        problems += _expression_problems(f.name, tree)
        problems += message_problems(f.name, tree)
    for f in dmn_files:
        problems += _dmn_problems(f.name, trees[f.name])
    if problems:
        raise DeploymentRefused(problems)

    compiled: list[CompiledProcess] = []
    for f in bpmn_files:
        tree = trees[f.name]
        for process in tree.getroot().xpath("./bpmn:process[@isExecutable='true']", namespaces=NS):
            try:
                compiled.append(
                    _compile_process(
                        f,
                        tree,
                        process,
                        dmn_files,
                        trees,
                        forms,
                        settings,
                        catalogue,
                        previous.get(process.get("id")),
                        problems,
                        connectors or set(),
                    )
                )
            except _Skip:
                continue
    if not compiled and not problems:
        # Name the process that is not executable (or the file's root when it holds none).
        first = bpmn_files[0]
        problems.append(Problem(first.name, *runnable.no_executable_process(trees[first.name])))
    if problems:
        raise DeploymentRefused(problems)
    return compiled


class _Skip(Exception):
    pass


def _compile_process(
    f,
    tree,
    process,
    dmn_files,
    trees,
    forms,
    settings,
    catalogue,
    prev: Previous | None,
    problems: list[Problem],
    connectors: set[str] = frozenset(),
) -> CompiledProcess:
    key = process.get("id")
    n_before = len(problems)
    prev = prev or Previous()

    # Resources of this version: uploaded ones win, otherwise the previous version's.
    dmn_xml = {d.name: d.data.decode("utf-8") for d in dmn_files}
    if not dmn_xml:
        dmn_xml = dict(prev.dmn)
    find_form = _FormFinder(forms, prev.forms)
    tasks, version_forms = user_tasks(f.name, key, process, find_form, problems)
    service_tasks = _connector_service_tasks(f, process, connectors, tasks, problems)

    start_form = _start_form(key, process, find_form, version_forms, problems)
    starters = process.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups") or "applicant"
    starter_roles = [s.strip() for s in starters.split(",") if s.strip()]
    for s in starter_roles:
        if not roles.is_role(s):
            problems.append(
                Problem(
                    f.name,
                    process.sourceline,
                    key,
                    f"candidateStarterGroups 中的 “{s}” 不是已知角色 / unknown starter role",
                )
            )

    elements = _elements(process)
    proc_settings = settings.get(key, prev.settings or {})
    problems += _settings_problems(
        f, key, process, proc_settings, start_form, tasks, version_forms, elements, dmn_xml, trees
    )
    problems += _unrunnable_problems(f.name, tree, process)
    if len(problems) > n_before:
        raise _Skip()

    parser = SijiParser(validator=_bpmn_validator())  # CamundaParser + connector service tasks
    try:
        with _validator_lock:
            parser.add_bpmn_xml(_reparse(f.data), filename=f.name)
            for d in dmn_xml:
                parser.add_dmn_xml(_reparse(dmn_xml[d].encode("utf-8")), filename=d)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as e:
        element = getattr(e, "id", None) or None
        line = getattr(e, "line_number", None) or _line_of(tree, element)
        if element is None:  # SpiffWorkflow named nothing: point at the process at least
            element, line = key, line or process.sourceline
        problems.append(
            Problem(
                getattr(e, "file_name", None) or f.name,
                line or None,
                element,
                f"无法生成可执行流程 / cannot build the process: {e}",
            )
        )
        raise _Skip() from None
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as e:
        problems.append(
            Problem(f.name, process.sourceline, key, f"无法生成可执行流程 / cannot build the process: {e!r}")
        )
        raise _Skip() from None

    from engine.workflow.serializer import spec_to_state

    spec_state = _storable_spec_state(f.name, process, spec_to_state, spec, subprocess_specs, problems)
    return CompiledProcess(
        key=key,
        name=(process.get("name") or _participant_name(tree, key) or key).strip(),
        bpmn_file=PurePosixPath(f.name).name,
        bpmn_xml=f.data.decode("utf-8"),
        spec_state=spec_state,
        tasks=tasks,
        elements=elements,
        start_form=start_form,
        starter_roles=starter_roles,
        resources={
            "dmn": dmn_xml,
            "forms": version_forms,
            "settings": proc_settings,
            "catalogue": catalogue if catalogue is not None else prev.catalogue,
            "service_tasks": service_tasks,
        },
        spec=spec,
        subprocess_specs=subprocess_specs,
    )


class _FormFinder:
    """A user task's form (or the start form) by form key: uploaded now, else the previous
    version's. Returns (file name, form) or None."""

    def __init__(self, forms: dict, previous_forms: dict):
        self.forms, self.previous_forms = forms, previous_forms

    def __call__(self, form_key: str, activity_id: str):
        for k in (form_key, activity_id if "/" not in form_key else None):
            if k and k in self.forms:
                return self.forms[k]
        if form_key in self.previous_forms:
            return ("(previous version)", self.previous_forms[form_key])
        return None


def _start_form(key: str, process, find_form, version_forms: dict, problems: list[Problem]) -> dict | None:
    start_form = None
    start_key = f"{key}/start"
    for se in process.xpath("./bpmn:startEvent", namespaces=NS):
        start_key = se.get(f"{{{CAMUNDA_NS}}}formKey") or start_key
    found = find_form(start_key, "start")
    if found is not None:
        try:
            compile_form(found[1])
            start_form = found[1]
            version_forms[start_key] = start_form
        except FormDefinitionError as e:
            problems.append(Problem(found[0], None, "start", f"开始表单有误 / broken start form: {e}"))
    return start_form


def _elements(process) -> dict[str, dict]:
    """Every flow element by id: name and type, a flow's ends, an end event's level, a boundary
    event's task and whether it interrupts (read by the service's projection and the case view)."""
    elements = {}
    for node in process.iter():
        if isinstance(node.tag, str) and node.get("id") and etree.QName(node.tag).namespace == BPMN_NS:
            t = _local(node.tag)
            if t in ("lane", "laneSet", "flowNodeRef", "conditionExpression", "timerEventDefinition"):
                continue
            el = {"name": (node.get("name") or "").strip(), "type": t}
            if t == "sequenceFlow":
                el["source"], el["target"] = node.get("sourceRef"), node.get("targetRef")
            elif t == "endEvent":
                el["top"] = node.getparent() is process
            elif t == "boundaryEvent":
                el["attached_to"] = node.get("attachedToRef")
                el["interrupting"] = node.get("cancelActivity", "true") != "false"
            elements[node.get("id")] = el
    return elements


def _settings_problems(
    f, key, process, proc_settings, start_form, tasks, version_forms, elements, dmn_xml, trees
) -> list[Problem]:
    """The service keys of the flow's settings (deadlines, display name, lookup, carry-over) and
    the read-only fields of its forms, which must show data some step fills."""
    task_forms = {aid: version_forms[t.form_key] for aid, t in tasks.items() if t.form_key in version_forms}
    scripts = [n.text or "" for n in process.xpath(".//bpmn:scriptTask/bpmn:script", namespaces=NS)]
    outputs: set[str] = set()
    for name, xml in dmn_xml.items():
        tree = trees.get(name) or _reparse(xml.encode("utf-8")).getroottree()
        outputs |= {o for o in tree.getroot().xpath("//*[local-name()='output']/@name") if o}
    produced = flow_settings.produced_keys(start_form, task_forms, proc_settings, scripts, outputs)
    settings_file = f"{key}.settings.json"
    out = [
        Problem(settings_file, None, k, m) for k, m in flow_settings.problems(proc_settings, tasks, elements, produced)
    ]
    for aid, field_key, message in flow_settings.readonly_problems(task_forms, produced):
        out.append(Problem(f"forms/{tasks[aid].form_key}.form", None, aid, f"{field_key}: {message}"))
    return out


def _unrunnable_problems(filename: str, tree, process) -> list[Problem]:
    """Elements the service cannot run (engine/workflow/runnable.py), each named with its line."""
    file_processes = {p.get("id") for p in tree.getroot().xpath("./bpmn:process", namespaces=NS)}
    return [
        Problem(filename, line, element, message)
        for line, element, message in runnable.unrunnable_problems(process, file_processes)
    ]


def _storable_spec_state(
    filename: str, process, spec_to_state, spec, subprocess_specs, problems: list[Problem]
) -> dict:
    """The serialized spec, checked to be storable as JSON: an element type the serializer does
    not know (one SpiffWorkflow parses but this service never runs) is refused by name rather than
    failing the deployment's database write."""
    try:
        state = spec_to_state(spec, subprocess_specs)
        json.dumps(state)
    except (TypeError, ValueError) as e:
        problems.append(
            Problem(
                filename,
                process.sourceline,
                process.get("id"),
                f"流程含本服务不支持的元素，无法保存 / the process has an element this service does not support: {e}",
            )
        )
        raise _Skip() from None
    return state


def _connector_service_tasks(f, process, connectors: set[str], tasks: dict, problems: list) -> dict[str, dict]:
    """Service tasks through connectors (engine/workflow/service_tasks.py): each becomes a task the
    engine waits at, held by the connector role, with its connector and mappings kept as a resource."""
    found = connector_tasks(process, f.name, connectors, problems)
    for aid, st in found.items():
        tasks[aid] = TaskInfo(aid, st["name"], CONNECTOR_ROLE, None, "", None, st.pop("line"))
    return found


def _reparse(data: bytes):
    return xmlsafe.parse(data).getroot()


def _participant_name(tree, key: str) -> str | None:
    for p in tree.getroot().xpath(".//bpmn:participant[@processRef=$k]", namespaces=NS, k=key):
        return p.get("name")
    return None
