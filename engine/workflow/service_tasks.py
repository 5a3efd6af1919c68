"""Service tasks that call a connector (engine/connectors.py), modelled with Camunda 7's connector
extension, which bpmn.io's Camunda properties panel edits:

    <bpmn:serviceTask id="Task_Credit" name="查询企业信用">
      <bpmn:extensionElements>
        <camunda:connector>
          <camunda:connectorId>enterprise_db.credit</camunda:connectorId>
          <camunda:inputOutput>
            <camunda:inputParameter name="credit_code">${credit_code}</camunda:inputParameter>
            <camunda:outputParameter name="credit_rating">${rating}</camunda:outputParameter>
          </camunda:inputOutput>
        </camunda:connector>
      </bpmn:extensionElements>
    </bpmn:serviceTask>

An input's value is ``${path}`` (a case variable, dots into nested objects) or literal text; an
output's value is ``${path}`` into the JSON answer, stored under the output's name. No code runs.
The engine stops at such a task like at a user task (its spec is made ``manual``); a connector
worker calls the endpoint outside any transaction and completes the task with the outputs.
"""

from __future__ import annotations

import re

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": CAMUNDA_NS}
CONNECTOR_ROLE = "connector"  # the task row's role: no user holds it, so no inbox shows it
_EXPR = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def connector_tasks(process, filename: str, known: set[str] | None, problems: list) -> dict[str, dict]:
    """activity id → {connector, name, inputs, outputs} of every service task in ``process``;
    what is wrong (no connector, an unknown one, a bad mapping) goes to ``problems``.
    ``known``: the registry's connector names (None: not checked)."""
    from engine.workflow.deploy import Problem

    out = {}
    for st in process.xpath(".//bpmn:serviceTask", namespaces=NS):
        aid = st.get("id")
        conn = st.find("bpmn:extensionElements/camunda:connector", NS)
        cid = (conn.findtext("camunda:connectorId", namespaces=NS) or "").strip() if conn is not None else ""
        if not cid:
            problems.append(
                Problem(
                    filename,
                    st.sourceline,
                    aid,
                    "服务任务须用 camunda:connector 指明连接器 / a service task needs a "
                    "camunda:connector with a connectorId",
                )
            )
            continue
        if known is not None and cid not in known:
            problems.append(
                Problem(
                    filename,
                    st.sourceline,
                    aid,
                    f"未登记的连接器 “{cid}” / unknown connector '{cid}'",
                )
            )
            continue
        inputs, outputs = {}, {}
        for kind, target in (("inputParameter", inputs), ("outputParameter", outputs)):
            for p in conn.findall(f"camunda:inputOutput/camunda:{kind}", NS):
                name, value = p.get("name") or "", (p.text or "").strip()
                if not _NAME.match(name) or (kind == "outputParameter" and not _EXPR.match(value)):
                    problems.append(
                        Problem(
                            filename,
                            p.sourceline,
                            aid,
                            f"连接器参数 “{name}” 有误：名称须为标识符，输出值须为 ${{路径}} / bad "
                            f"connector {kind} '{name}'",
                        )
                    )
                    continue
                target[name] = value
        out[aid] = {
            "connector": cid,
            "name": (st.get("name") or "").strip() or aid,
            "inputs": inputs,
            "outputs": outputs,
            "line": st.sourceline,
        }
    return out


class ConnectorServiceTask(ServiceTask):
    """A service task the engine waits at (``manual``, like a user task): the connector worker makes
    the call outside the engine and completes the task with the outputs as its data. Completing it
    runs nothing more (SpiffWorkflow's own service task would stay STARTED, waiting forever)."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = True

    def _run_hook(self, task):
        return True


class SijiParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (TaskParser, ConnectorServiceTask),
    }


def _lookup(data, path: str):
    cur = data
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(path)
    return cur


def evaluate(mapping: dict[str, str], data) -> dict:
    """Values of a mapping against ``data``: ``${path}`` looked up (KeyError naming it when
    absent), anything else taken literally."""
    out = {}
    for name, value in mapping.items():
        m = _EXPR.match(value)
        out[name] = _lookup(data, m.group(1)) if m else value
    return out
