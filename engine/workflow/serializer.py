"""Instance state without the spec: each version's spec is stored once and kept parsed in memory.

SpiffWorkflow's serializer embeds the whole spec in every instance's JSON, and rebuilding it on
every load is the largest single cost of a command. Our converter leaves it out on save and
attaches the cached spec objects on load.
"""

from __future__ import annotations

import json

from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from engine.workflow.service_tasks import ConnectorServiceTask

STATE_FORMAT = f"siji-1/spiff-{VERSION}"


class _CachedSpecWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        from uuid import UUID

        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(CAMUNDA_CONFIG)
_config[BpmnWorkflow] = _CachedSpecWorkflowConverter
# Camunda's config has no converter for plain service tasks; ours wait for a connector call
# (engine/workflow/service_tasks.py) and keep no more than any task spec (``manual`` included).
_config[ConnectorServiceTask] = BpmnTaskSpecConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(_registry)

# A plain SpiffWorkflow serializer (spec embedded) for the benchmark's baseline.
default_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))


def spec_to_state(spec, subprocess_specs) -> dict:
    return {
        "spec": _registry.convert(spec),
        "subprocess_specs": {k: _registry.convert(v) for k, v in subprocess_specs.items()},
    }


def spec_from_state(state: dict):
    spec = _registry.restore(state["spec"])
    subs = {k: _registry.restore(v) for k, v in state["subprocess_specs"].items()}
    return spec, subs


def dump_workflow(workflow: BpmnWorkflow) -> str:
    return _serializer.serialize_json(workflow)


def task_data(state: str, task_id: str, ready: int) -> dict | None:
    """One task's data straight from the saved state, without rebuilding the workflow; None when
    the task is not there or not in state ``ready``. Reading a form needs only this.

    SpiffWorkflow saves a task's data as a delta against its parent's (the root holds it whole),
    and its restore rebuilds it parent first, within the task's own (sub)workflow: this walks
    that chain and applies the same merge."""
    from SpiffWorkflow.util.deep_merge import DeepMerge

    dct = json.loads(state)
    tasks = dct["tasks"]
    if task_id not in tasks:
        tasks = next(
            (sub["tasks"] for sub in (dct.get("subprocesses") or {}).values() if task_id in sub["tasks"]), None
        )
    if tasks is None or tasks[task_id].get("state") != ready:
        return None
    chain = []
    entry = tasks[task_id]
    while True:
        chain.append(entry)
        parent = tasks.get(entry["parent"]) if entry.get("parent") else None
        if parent is None or not entry.get("delta"):
            break
        entry = parent
    data = _registry.restore(chain[-1].get("data") or {})
    for entry in reversed(chain[:-1]):
        delta = entry["delta"]
        data = DeepMerge.merge({}, data)
        data.update(_registry.restore(delta.get("updates", {})))
        for key in delta.get("deletions", {}):
            data.pop(key, None)
    return data


def load_workflow(state: str | dict, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(state) if isinstance(state, str) else state
    version = dct.pop(BpmnWorkflowSerializer.VERSION_KEY, VERSION)
    if version != VERSION:
        raise ValueError(f"state saved by serializer {version}, this engine reads {VERSION}")
    dct["spec"], dct["subprocess_specs"] = spec, subprocess_specs
    workflow = _serializer.from_dict(dct)
    workflow.script_engine = script_engine
    return workflow


def spec_registry():
    """The converter registry specs are stored with (SpiffWorkflow's spec diff compares through it)."""
    return _registry
