"""Which elements of a process this service can run, checked before SpiffWorkflow builds the spec.

SpiffWorkflow parses far more of BPMN than this service can carry out: it will happily build a
send or receive task (messages here are message events: engine/workflow/messages.py), a plain or
manual task (which becomes a task no department holds), or a process that can only start on a
signal or a message. (Service tasks run through connectors, checked in
engine/workflow/service_tasks.py.) Deployed, each of these either
fails in the database write (a spec the serializer cannot store) or gives a case that waits for
ever. So each is refused at deploy time, naming its line and element, with what to draw instead.

Each check returns ``(line, element_id, message)``; engine/workflow/deploy.py adds the file name.
"""

from __future__ import annotations

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS}

NO_MESSAGES = (
    "发送或接收任务无法执行；请改用消息中间事件（发送时用 camunda:expression 给出内容）/ send and receive "
    "tasks cannot run here: use intermediate message throw and catch events (a throw gives its "
    "payload in camunda:expression)"
)
NO_DEPARTMENT = (
    "没有类型的任务（或手工任务）没有部门办理，案件会停在这里；请改为部门泳道中带表单的用户任务，"
    "或脚本任务 / a task of no type (or a manual task) has no department to do it and the case "
    "would stop there: make it a user task in a department's lane with a form, or a script task"
)
START_KINDS = (
    "流程只能从无类型或定时开始事件启动 / a process can only start from a none or a timer start "
    "event (nothing outside a case can send it a signal or make its condition true)"
)
NO_DECISION = (
    "业务规则任务缺少 camunda:decisionRef（应为 DMN 决策的 id）/ business rule task has no "
    "camunda:decisionRef (the id of a DMN decision)"
)
NO_CALLED = "调用活动缺少 calledElement / call activity has no calledElement"

# Element kinds that cannot run here at all, whatever their attributes.
UNRUNNABLE = {
    "sendTask": NO_MESSAGES,
    "receiveTask": NO_MESSAGES,
    "task": NO_DEPARTMENT,
    "manualTask": NO_DEPARTMENT,
}
# A top-level start event may carry only these (none carries no definition at all).
STARTABLE_DEFINITIONS = {"timerEventDefinition"}


def _local(node) -> str:
    return etree.QName(node.tag).localname if isinstance(node.tag, str) else ""


def _label(node) -> str:
    name = (node.get("name") or "").strip()
    return f"“{name}” ({node.get('id')})" if name else str(node.get("id"))


def _problem(node, message: str) -> tuple[int | None, str | None, str]:
    return node.sourceline, node.get("id"), f"{_label(node)}: {message}"


def unrunnable_problems(process, file_process_ids: set[str]) -> list[tuple[int | None, str | None, str]]:
    """Every element of ``process`` this service cannot run. ``file_process_ids``: the processes
    of the same file (SpiffWorkflow resolves a call activity only within its own file here)."""
    out = []
    for node in process.iter(f"{{{BPMN_NS}}}*"):
        message = UNRUNNABLE.get(_local(node))
        if message:
            out.append(_problem(node, message))
    out += _start_event_problems(process)
    out += _business_rule_problems(process)
    out += _call_activity_problems(process, file_process_ids)
    return list(dict.fromkeys(out))  # a start event with two message definitions is named once


def _start_event_problems(process):
    # Only the process's own start events: one in an event subprocess is triggered inside the case.
    out = []
    for start in process.xpath("./bpmn:startEvent", namespaces=NS):
        kinds = {_local(d) for d in start if _local(d).endswith("EventDefinition")}
        if kinds - STARTABLE_DEFINITIONS:  # a message start: nothing here starts a case on a message
            out.append(_problem(start, START_KINDS))
    return out


def _business_rule_problems(process):
    # CamundaParser reads the decision from camunda:decisionRef only; without it, it fails with a
    # bare KeyError that names nothing.
    return [
        _problem(task, NO_DECISION)
        for task in process.iter(f"{{{BPMN_NS}}}businessRuleTask")
        if not (task.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip()
    ]


def _call_activity_problems(process, file_process_ids: set[str]):
    # SpiffWorkflow's own error for a missing called process names neither line nor element.
    out = []
    for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
        called = (call.get("calledElement") or "").strip()
        if not called:
            out.append(_problem(call, NO_CALLED))
        elif called not in file_process_ids:
            out.append(
                _problem(
                    call, f"调用的流程 “{called}” 不在同一文件中 / the called process '{called}' is not in this file"
                )
            )
    return out


def no_executable_process(tree) -> tuple[int | None, str | None, str]:
    """Why a file yields no process to run, pointing at the process (or the file's root) at fault."""
    root = tree.getroot()
    processes = root.xpath("./bpmn:process", namespaces=NS)
    if not processes:
        return (
            root.sourceline,
            root.get("id"),
            "文件中没有流程（只有图或协作）/ the file holds no process (only a diagram or a collaboration)",
        )
    first = processes[0]
    return (
        first.sourceline,
        first.get("id"),
        f"流程 “{first.get('id')}” 未标记为可执行（需 isExecutable=\"true\"）/ process '{first.get('id')}' "
        'is not marked executable (isExecutable="true")',
    )
