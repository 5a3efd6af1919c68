"""Checks on the uploaded XML before SpiffWorkflow builds anything: the OMG XSD, ids and dangling
references, lanes and boundary events, every expression (conditions, timers, scripts, DMN
entries) against the restricted language. Each problem names file, line and element."""

from __future__ import annotations

import re
import threading

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

from engine.workflow.deploy_model import BPMN_NS, NS, RESERVED_IDS, RESERVED_SUFFIXES, Problem
from engine.workflow.scripting import check_source

_validator: BpmnValidator | None = None
_validator_lock = threading.Lock()


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


def _expression_problems(filename: str, tree) -> list[Problem]:
    out = []
    root = tree.getroot()

    def owner_id(node):
        while node is not None and node.get("id") is None:
            node = node.getparent()
        return node.get("id") if node is not None else None

    checks = [
        (".//bpmn:conditionExpression", "eval"),
        (".//bpmn:timeDate", "eval"),
        (".//bpmn:timeDuration", "eval"),
        (".//bpmn:timeCycle", "eval"),
        (".//bpmn:loopCardinality", "eval"),
        (".//bpmn:completionCondition", "eval"),
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
                out.append(
                    Problem(
                        filename,
                        node.sourceline + max(line - 1, 0),
                        owner_id(node),
                        f"表达式不被允许 / expression refused: {msg}",
                    )
                )
    return out


def _dmn_problems(filename: str, tree) -> list[Problem]:
    out = []
    dmn_ns = tree.getroot().nsmap.get(None) or ""
    for node in tree.getroot().iter():
        local = _local(node.tag)
        if local in ("inputExpression", "outputEntry"):
            text_node = node if local == "outputEntry" else node.find(f"{{{dmn_ns}}}text")
            text = (
                text_node.findtext(f"{{{dmn_ns}}}text")
                if local == "outputEntry"
                else (text_node.text if text_node is not None else None)
            )
            if text and text.strip() and text.strip() != "-":
                for _line, msg in check_source(text.strip(), "eval"):
                    parent = node
                    while parent is not None and parent.get("id") is None:
                        parent = parent.getparent()
                    out.append(
                        Problem(
                            filename,
                            node.sourceline,
                            parent.get("id") if parent is not None else None,
                            f"表达式不被允许 / expression refused: {msg}",
                        )
                    )
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
            out.append(
                Problem(
                    filename,
                    node.sourceline,
                    i,
                    f"元素 id “{i}” 与引擎内部名称冲突，请改名 / id '{i}' collides with an engine-internal name",
                )
            )
    for flow in root.xpath(".//bpmn:sequenceFlow", namespaces=NS):
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if not ref or ref not in ids:
                out.append(
                    Problem(
                        filename,
                        flow.sourceline,
                        flow.get("id"),
                        f"顺序流的 {attr} 指向不存在的元素 “{ref}” / dangling {attr} '{ref}'",
                    )
                )
    for node in root.xpath(".//bpmn:*[@default]", namespaces=NS):
        if node.get("default") not in ids:
            out.append(
                Problem(
                    filename,
                    node.sourceline,
                    node.get("id"),
                    f"default 指向不存在的顺序流 “{node.get('default')}” / dangling default flow",
                )
            )
    for node in root.xpath(".//bpmn:boundaryEvent", namespaces=NS):
        if node.get("attachedToRef") not in ids:
            out.append(
                Problem(
                    filename,
                    node.sourceline,
                    node.get("id"),
                    "边界事件附着的活动不存在 / boundary event attached to a missing activity",
                )
            )
    return out
