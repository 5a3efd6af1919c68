"""Deploy-time compilation: a set of uploaded files becomes runnable process versions or a list of
problems, each naming the file, the line and the element.

Everything that can be known before a case starts is checked here (XSD, dangling references,
ids, lanes → roles, forms, expressions, SpiffWorkflow's own ``get_spec``) so that a diagram that
cannot run is refused when it is deployed, not when someone starts it.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import roles

from engine.workflow import flow_settings, runnable, task_roles, xmlsafe
from engine.forms.compile import compile_form
from engine.forms.messages import FormDefinitionError
from engine.workflow.scripting import check_source
from engine.workflow.messages import message_problems
from engine.workflow.service_tasks import CONNECTOR_ROLE, SijiParser, connector_tasks

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# Names SpiffWorkflow gives its own task specs; an element with one of these ids would be
# silently merged with them.
RESERVED_IDS = {"Start", "End", "Root"}
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventParent", ".BoundaryEventSplit", ".BoundaryEventJoin")

MAX_FORM_BYTES = 512 * 1024
MAX_JSON_BYTES = 1024 * 1024


@dataclass
class Problem:
    file: str
    line: int | None
    element: str | None
    message: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "element": self.element, "message": self.message}


class DeploymentRefused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems[:5]))
        self.problems = problems


@dataclass
class UploadedFile:
    name: str
    data: bytes


@dataclass
class TaskInfo:
    activity_id: str
    name: str
    role: str
    lane: str | None
    form_key: str
    assignee_var: str | None = None
    line: int | None = None
    role_var: str | None = None     # candidateGroups="${var}": the department named by data var

    def as_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class CompiledProcess:
    key: str
    name: str
    bpmn_file: str
    bpmn_xml: str
    spec_state: dict            # serialized spec + subprocess specs (stored once per version)
    tasks: dict[str, TaskInfo]  # user tasks by activity id
    elements: dict[str, dict]   # every flow element: {name, type}
    start_form: dict | None
    starter_roles: list[str]
    resources: dict[str, Any]   # dmn files, forms, settings, catalogue of this version
    spec: Any = None            # parsed spec objects (kept in memory by the engine cache)
    subprocess_specs: Any = None


@dataclass
class Previous:
    """Resources of the latest deployed version of a process, used when a redeploy uploads only
    the diagram (the modeler page does that)."""
    dmn: dict[str, str] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)
    settings: dict[str, Any] | None = None
    catalogue: Any = None


_validator_lock = threading.Lock()
_validator: BpmnValidator | None = None


def _bpmn_validator() -> BpmnValidator:
    global _validator
    if _validator is None:
        _validator = BpmnValidator()
    return _validator


def _xsd_problems(filename: str, tree) -> list[Problem]:
    validator = _bpmn_validator()
    with _validator_lock:
        validator.preprocess(tree.getroot())
        ok = validator.validator.validate(tree)
        errors = list(validator.validator.error_log)
    if ok:
        return []
    by_line: dict[int, list] = {}
    for node in tree.getroot().iter():
        if isinstance(node.tag, str):
            by_line.setdefault(node.sourceline, []).append(node)
    out = []
    for err in errors[:50]:
        element = None
        m = re.search(r"Element '([^']+)'", err.message)
        if m:
            tag = re.sub(r"\{[^}]*\}", "", m.group(1))
            element = tag
            for node in by_line.get(err.line, []):
                if _local(node.tag) == tag:
                    element = node.get("id") or tag
                    break
        out.append(Problem(filename, err.line, element, f"不符合 BPMN 2.0 XSD / schema-invalid: {err.message}"))
    return out


def _line_of(tree, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = tree.getroot().xpath("//*[@id=$i]", i=element_id)
    return found[0].sourceline if found else None


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _form_key_of_upload(name: str) -> str:
    """``forms/business_opening/Task_X.form`` → ``business_opening/Task_X``."""
    p = PurePosixPath(name.replace("\\", "/"))
    parts = [x for x in p.with_suffix("").parts if x not in ("", ".", "..")]
    if parts and parts[0] == "forms":
        parts = parts[1:]
    return "/".join(parts[-2:]) if len(parts) >= 2 else parts[-1]


MAX_JSON_DEPTH = 64


def _no_constant(name: str):
    raise ValueError(f"{name} 不是 JSON / {name} is not JSON")


def _load_json(f: UploadedFile, limit: int) -> Any:
    if len(f.data) > limit:
        raise ValueError(f"文件过大 / file too large ({len(f.data)} bytes, limit {limit})")
    try:
        value = json.loads(f.data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as e:
        raise ValueError(f"不是 UTF-8 文本 / not UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"JSON 语法错误，第 {e.lineno} 行 / invalid JSON at line {e.lineno}: {e.msg}") from None
    except RecursionError:
        raise ValueError(f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）/ JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as e:   # NaN / Infinity, integers over 4300 digits
        raise ValueError(f"JSON 无效 / invalid JSON: {str(e)[:200]}") from None
    stack = [(value, 1)]
    while stack:   # deeper than any form needs; compiling it would recurse
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）/ JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return value


def classify(files: Iterable[UploadedFile]):
    bpmn, dmn, forms, settings, catalogue, problems = [], [], {}, {}, None, []
    for f in files:
        lower = f.name.lower()
        if lower.endswith(".bpmn") or lower.endswith(".bpmn20.xml"):
            bpmn.append(f)
        elif lower.endswith(".dmn"):
            dmn.append(f)
        elif lower.endswith(".form") or lower.endswith(".form.json"):
            try:
                forms[_form_key_of_upload(f.name.removesuffix(".json"))] = (f.name, _load_json(f, MAX_FORM_BYTES))
            except ValueError as e:
                problems.append(Problem(f.name, None, None, str(e)))
        elif lower.endswith(".settings.json"):
            key = PurePosixPath(f.name).name[: -len(".settings.json")]
            try:
                value = _load_json(f, MAX_JSON_BYTES)
                if not isinstance(value, dict):
                    raise ValueError("设置文件必须是 JSON 对象 / settings must be a JSON object")
                settings[key] = value
            except ValueError as e:
                problems.append(Problem(f.name, None, None, str(e)))
        elif PurePosixPath(f.name).name == "catalogue.json":
            try:
                catalogue = _load_json(f, MAX_JSON_BYTES)
                _check_catalogue(catalogue)
            except ValueError as e:
                problems.append(Problem(f.name, None, None, str(e)))
        else:
            problems.append(Problem(f.name, None, None,
                                    "不支持的文件类型（接受 .bpmn .dmn .form .settings.json catalogue.json）/ "
                                    "unsupported file type"))
    return bpmn, dmn, forms, settings, catalogue, problems


def _check_catalogue(cat: Any) -> None:
    items = cat.get("items") if isinstance(cat, dict) else None
    if not isinstance(items, list):
        raise ValueError("目录必须有 items 列表 / catalogue needs an 'items' list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("code"):
            raise ValueError(f"items[{i}] 缺少 code / items[{i}] has no code")
        if item.get("path") not in ("commitment", "filing", "review"):
            raise ValueError(f"items[{i}].path 必须是 commitment/filing/review / items[{i}].path must be "
                             "commitment, filing or review")
        if not roles.is_role(str(item.get("department", ""))):
            raise ValueError(f"items[{i}].department 不是已知部门 / items[{i}].department is not a known role")


def _expression_problems(filename: str, tree) -> list[Problem]:
    out = []
    root = tree.getroot()

    def owner_id(node):
        while node is not None and node.get("id") is None:
            node = node.getparent()
        return node.get("id") if node is not None else None

    checks = [
        (".//bpmn:conditionExpression", "eval"),
        (".//bpmn:timeDate", "eval"), (".//bpmn:timeDuration", "eval"), (".//bpmn:timeCycle", "eval"),
        (".//bpmn:loopCardinality", "eval"), (".//bpmn:completionCondition", "eval"),
        (".//bpmn:scriptTask/bpmn:script", "exec"),
        # A conditional event's condition is evaluated by the same script engine as a gateway's.
        (".//bpmn:conditionalEventDefinition/bpmn:condition", "eval"),
    ]
    for xpath, mode in checks:
        for node in root.xpath(xpath, namespaces=NS):
            text = (node.text or "").strip()
            if not text:
                if mode == "eval" and _local(node.tag) != "conditionExpression":
                    out.append(Problem(filename, node.sourceline, owner_id(node), "表达式为空 / empty expression"))
                continue
            for line, msg in check_source(text, mode):
                out.append(Problem(filename, node.sourceline + max(line - 1, 0), owner_id(node),
                                   f"表达式不被允许 / expression refused: {msg}"))
    return out


def _dmn_problems(filename: str, tree) -> list[Problem]:
    out = []
    dmn_ns = tree.getroot().nsmap.get(None) or ""
    for node in tree.getroot().iter():
        local = _local(node.tag)
        if local in ("inputExpression", "outputEntry"):
            text_node = node if local == "outputEntry" else node.find(f"{{{dmn_ns}}}text")
            text = (text_node.findtext(f"{{{dmn_ns}}}text") if local == "outputEntry" else
                    (text_node.text if text_node is not None else None))
            if text and text.strip() and text.strip() != "-":
                for line, msg in check_source(text.strip(), "eval"):
                    parent = node
                    while parent is not None and parent.get("id") is None:
                        parent = parent.getparent()
                    out.append(Problem(filename, node.sourceline, parent.get("id") if parent is not None else None,
                                       f"表达式不被允许 / expression refused: {msg}"))
    return out


def _structure_problems(filename: str, tree) -> list[Problem]:
    out = []
    root = tree.getroot()
    ids: dict[str, int] = {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        i = node.get("id")
        if i is None:
            continue
        if i in ids:
            out.append(Problem(filename, node.sourceline, i, f"重复的元素 id（第 {ids[i]} 行已有）/ duplicate id"))
        ids[i] = node.sourceline
        ns = etree.QName(node.tag).namespace
        if ns == BPMN_NS and (i in RESERVED_IDS or i.endswith(RESERVED_SUFFIXES)):
            out.append(Problem(filename, node.sourceline, i,
                               f"元素 id “{i}” 与引擎内部名称冲突，请改名 / id '{i}' collides with an engine-internal name"))
    for flow in root.xpath(".//bpmn:sequenceFlow", namespaces=NS):
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if not ref or ref not in ids:
                out.append(Problem(filename, flow.sourceline, flow.get("id"),
                                   f"顺序流的 {attr} 指向不存在的元素 “{ref}” / dangling {attr} '{ref}'"))
    for node in root.xpath(".//bpmn:*[@default]", namespaces=NS):
        if node.get("default") not in ids:
            out.append(Problem(filename, node.sourceline, node.get("id"),
                               f"default 指向不存在的顺序流 “{node.get('default')}” / dangling default flow"))
    for node in root.xpath(".//bpmn:boundaryEvent", namespaces=NS):
        if node.get("attachedToRef") not in ids:
            out.append(Problem(filename, node.sourceline, node.get("id"),
                               "边界事件附着的活动不存在 / boundary event attached to a missing activity"))
    return out


def _lanes(process) -> dict[str, str]:
    lanes = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        name = (lane.get("name") or "").strip()
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = name
    return lanes


def _lane_of(node, lanes: dict[str, str]) -> str | None:
    # Tasks inside an embedded sub-process take the lane of the outermost enclosing activity.
    cur = node
    while cur is not None:
        i = cur.get("id")
        if i in lanes:
            return lanes[i]
        cur = cur.getparent()
        if cur is not None and _local(cur.tag) == "process":
            break
    return None


_ASSIGNEE = re.compile(r"^\$\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}$")


def compile_deployment(files: list[UploadedFile], previous: dict[str, Previous] | None = None,
                       connectors: set[str] | None = None) -> list[CompiledProcess]:
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
            problems.append(Problem(f.name, root.sourceline, root.get("id") or _local(root.tag),
                                    "根元素必须是 BPMN 命名空间的 definitions / root element must be "
                                    f"definitions in the BPMN namespace {BPMN_NS}"))
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
                compiled.append(_compile_process(f, tree, process, dmn_files, trees, forms, settings,
                                                 catalogue, previous.get(process.get("id")), problems,
                                                 connectors or set()))
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


def _compile_process(f, tree, process, dmn_files, trees, forms, settings, catalogue, prev: Previous | None,
                     problems: list[Problem], connectors: set[str] = frozenset()) -> CompiledProcess:
    key = process.get("id")
    n_before = len(problems)
    lanes = _lanes(process)
    prev = prev or Previous()

    # Resources of this version: uploaded ones win, otherwise the previous version's.
    dmn_xml = {d.name: d.data.decode("utf-8") for d in dmn_files}
    if not dmn_xml:
        dmn_xml = dict(prev.dmn)
    version_forms: dict[str, dict] = {}

    def find_form(form_key: str, activity_id: str):
        for k in (form_key, activity_id if "/" not in form_key else None):
            if k and k in forms:
                return forms[k]
        if form_key in prev.forms:
            return ("(previous version)", prev.forms[form_key])
        return None

    tasks: dict[str, TaskInfo] = {}
    for ut in process.xpath(".//bpmn:userTask", namespaces=NS):
        aid = ut.get("id")
        name = (ut.get("name") or "").strip()
        lane = _lane_of(ut, lanes)
        role = ut.get(f"{{{CAMUNDA_NS}}}candidateGroups")
        role_var = None
        if role and task_roles.is_expression(role):
            role_var = task_roles.variable(role)
            if role_var is None:
                problems.append(Problem(f.name, ut.sourceline, aid,
                                        f"camunda:candidateGroups “{role}” 须为部门代码或 ${{变量名}} / "
                                        "must be a role code or ${variable}"))
                continue
            role = ""
        elif role:
            role = role.split(",")[0].strip()
            if not roles.is_role(role) or role in roles.SYSTEM_ROLES:
                problems.append(Problem(f.name, ut.sourceline, aid,
                                        f"camunda:candidateGroups “{role}” 不是已知部门角色 / unknown role"))
                continue
        else:
            if lane is None:
                problems.append(Problem(f.name, ut.sourceline, aid,
                                        "用户任务不在任何泳道中，无法确定部门 / user task is in no lane"))
                continue
            role = roles.role_for_lane(lane)
            if role is None:
                problems.append(Problem(f.name, ut.sourceline, aid,
                                        f"未知泳道 “{lane}”：泳道必须是已登记的部门 / unknown lane '{lane}'"))
                continue
        if not name:
            problems.append(Problem(f.name, ut.sourceline, aid, "用户任务没有名称 / user task has no name"))
        assignee_var = None
        assignee = ut.get(f"{{{CAMUNDA_NS}}}assignee")
        if assignee:
            m = _ASSIGNEE.match(assignee.strip())
            if not m:
                problems.append(Problem(f.name, ut.sourceline, aid,
                                        "camunda:assignee 须为 ${变量名} / camunda:assignee must be ${variable}"))
                continue
            assignee_var = m.group(1)
        form_key = ut.get(f"{{{CAMUNDA_NS}}}formKey") or f"{key}/{aid}"
        found = find_form(form_key, aid)
        if found is None:
            problems.append(Problem(f.name, ut.sourceline, aid,
                                    f"用户任务缺少表单 forms/{form_key}.form / user task has no form '{form_key}'"))
            continue
        form_file, form = found
        try:
            compile_form(form)
        except FormDefinitionError as e:
            problems.append(Problem(form_file, None, aid, f"表单有误 / broken form: {e}"))
            continue
        version_forms[form_key] = form
        tasks[aid] = TaskInfo(aid, name, role, lane, form_key, assignee_var, ut.sourceline, role_var)

    service_tasks = _connector_service_tasks(f, process, connectors, tasks, problems)

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

    starters = process.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups") or "applicant"
    starter_roles = [s.strip() for s in starters.split(",") if s.strip()]
    for s in starter_roles:
        if not roles.is_role(s):
            problems.append(Problem(f.name, process.sourceline, key,
                                    f"candidateStarterGroups 中的 “{s}” 不是已知角色 / unknown starter role"))

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

    proc_settings = settings.get(key, prev.settings or {})
    problems += _settings_problems(f, key, process, proc_settings, start_form, tasks, version_forms, elements,
                                   dmn_xml, trees)
    problems += _unrunnable_problems(f.name, tree, process)
    if len(problems) > n_before:
        raise _Skip()

    parser = SijiParser(validator=_bpmn_validator())   # CamundaParser + connector service tasks
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
        if element is None:   # SpiffWorkflow named nothing: point at the process at least
            element, line = key, line or process.sourceline
        problems.append(Problem(getattr(e, "file_name", None) or f.name, line or None, element,
                                f"无法生成可执行流程 / cannot build the process: {e}"))
        raise _Skip()
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as e:
        problems.append(Problem(f.name, process.sourceline, key, f"无法生成可执行流程 / cannot build the process: {e!r}"))
        raise _Skip()

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


def _settings_problems(f, key, process, proc_settings, start_form, tasks, version_forms, elements, dmn_xml,
                       trees) -> list[Problem]:
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
    out = [Problem(settings_file, None, k, m)
           for k, m in flow_settings.problems(proc_settings, tasks, elements, produced)]
    for aid, field_key, message in flow_settings.readonly_problems(task_forms, produced):
        out.append(Problem(f"forms/{tasks[aid].form_key}.form", None, aid, f"{field_key}: {message}"))
    return out


def _unrunnable_problems(filename: str, tree, process) -> list[Problem]:
    """Elements the service cannot run (engine/workflow/runnable.py), each named with its line."""
    file_processes = {p.get("id") for p in tree.getroot().xpath("./bpmn:process", namespaces=NS)}
    return [Problem(filename, line, element, message)
            for line, element, message in runnable.unrunnable_problems(process, file_processes)]


def _storable_spec_state(filename: str, process, spec_to_state, spec, subprocess_specs,
                         problems: list[Problem]) -> dict:
    """The serialized spec, checked to be storable as JSON: an element type the serializer does
    not know (one SpiffWorkflow parses but this service never runs) is refused by name rather than
    failing the deployment's database write."""
    try:
        state = spec_to_state(spec, subprocess_specs)
        json.dumps(state)
    except (TypeError, ValueError) as e:
        problems.append(Problem(filename, process.sourceline, process.get("id"),
                                f"流程含本服务不支持的元素，无法保存 / the process has an element this "
                                f"service does not support: {e}"))
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
