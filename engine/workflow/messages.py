"""BPMN messages between cases and from other systems, on SpiffWorkflow's event machinery.

A case waits at a message catch event (intermediate or boundary) with Camunda's message model:
``<bpmn:message id="Message_Ready" name="具备开工条件"/>`` and ``messageRef="Message_Ready"``. A
throw event (intermediate or end) sends one, with ``camunda:expression`` giving the payload (a
restricted expression, e.g. ``{"project_code": project_code}``) and optionally
``camunda:resultVariable`` naming the variable the receiver stores it in (SpiffWorkflow's default:
``<catch event id>_Response``). Pure: the callers store what a step did.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState


def thrown_messages(wf) -> list[dict]:
    """The messages the last steps threw that no task of the case caught (taken off the workflow)."""
    out = []
    for ev in wf.get_events():
        if isinstance(ev.event_definition, MessageEventDefinition):
            p = ev.payload if isinstance(ev.payload, dict) else {}
            out.append(
                {"name": ev.event_definition.name, "payload": p.get("payload"), "result_var": p.get("result_var")}
            )
    return out


def waiting_for(wf, name: str, correlation: dict | None = None) -> list:
    """Tasks waiting for message ``name`` whose data holds every ``correlation`` value."""
    out = []
    for t in list(wf.event_manager.tasks.values()):
        ed = getattr(t.task_spec, "event_definition", None)
        if t.state == TaskState.WAITING and isinstance(ed, MessageEventDefinition) and ed.name == name:
            if all(t.data.get(k) == v for k, v in (correlation or {}).items()):
                out.append(t)
    return out


def catches_message(spec, subprocess_specs, name: str) -> bool:
    """Does this version have a catch event for message ``name``?"""
    from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

    for s in (spec, *subprocess_specs.values()):
        for ts in s.task_specs.values():
            ed = getattr(ts, "event_definition", None)
            if isinstance(ts, CatchingEvent) and isinstance(ed, MessageEventDefinition) and ed.name == name:
                return True
    return False


def receive(
    engine,
    pv,
    state: str,
    name: str,
    payload,
    result_var: str | None,
    correlation: dict | None,
    sender: str | None = None,
):
    """Deliver a message to the case in ``state``: the StepResult, or None when it does not wait
    for it (or its data does not match ``correlation``)."""
    from engine import clock as clockmod
    from engine.workflow.results import Fact
    from engine.workflow.script_helpers import _collect

    with clockmod.use(engine.clock), _collect() as provisional:
        wf = engine.load(pv, state)
        tasks = waiting_for(wf, name, correlation)
        if not tasks:
            return None
        before_tasks, before_timers = engine._user_task_ids(wf), engine._timer_ids(wf)
        defn = tasks[0].task_spec.event_definition
        event = BpmnEvent(defn, payload={"payload": payload, "result_var": result_var})
        wf.catch(event)
        aid = tasks[0].task_spec.bpmn_id
        facts = [
            Fact("message_received", aid, pv.element_name(aid), {"message": name, "sender": sender}, str(tasks[0].id))
        ]
        return engine._advance(pv, wf, before_tasks, before_timers, facts, provisional)


def message_problems(filename: str, tree) -> list:
    """Deploy-time checks of message events: each names a ``bpmn:message`` with a name, and a
    throw's ``camunda:expression`` (its payload) is present and an allowed expression."""
    from engine.workflow.deploy import NS, Problem
    from engine.workflow.scripting import check_source

    out = []
    root = tree.getroot()
    names = {m.get("id"): (m.get("name") or "").strip() for m in root.xpath(".//bpmn:message", namespaces=NS)}
    for md in root.xpath(".//bpmn:messageEventDefinition", namespaces=NS):
        owner = md.getparent()
        oid = owner.get("id")
        if not names.get(md.get("messageRef") or ""):
            out.append(
                Problem(
                    filename,
                    md.sourceline,
                    oid,
                    "消息事件须引用有名称的 bpmn:message / a message event needs messageRef to a named bpmn:message",
                )
            )
            continue
        if owner.tag.endswith("ThrowEvent") or owner.tag.endswith("endEvent"):
            expr = (md.get("{http://camunda.org/schema/1.0/bpmn}expression") or "").strip()
            if not expr:
                out.append(
                    Problem(
                        filename,
                        md.sourceline,
                        oid,
                        "发送消息须用 camunda:expression 给出内容 / a message throw needs camunda:expression",
                    )
                )
                continue
            for _line, msg in check_source(expr, "eval"):
                out.append(Problem(filename, md.sourceline, oid, f"表达式不被允许 / expression refused: {msg}"))
    return out
