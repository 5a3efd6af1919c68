"""Reading and replacing a version's gateway conditions (the simulator chooses branches with
given probabilities instead of the diagram's expressions)."""

from __future__ import annotations

from engine.workflow.results import ProcessVersion


def replace_flow_conditions(pv: ProcessVersion, conditions: dict[str, str]) -> None:
    """Give sequence flows leaving gateways new condition expressions, in this parsed version only
    (what-if runs: the simulator draws branches with given probabilities). Raises KeyError naming
    a flow that is not a conditional flow of a gateway."""
    for flow_id, expression in conditions.items():
        el = pv.elements.get(flow_id) or {}
        source, target = el.get("source"), el.get("target")
        spec = _task_spec(pv, source) if source else None
        for _i, (cond, target_name) in enumerate(getattr(spec, "cond_task_specs", None) or []):
            target_spec = _task_spec(pv, target_name)
            if getattr(target_spec, "bpmn_id", target_name) == target and cond is not None:
                cond.args = (expression, *cond.args[1:])
                break
        else:
            raise KeyError(flow_id)


def conditional_flows(pv: ProcessVersion, gateway_id: str) -> list[str]:
    """The conditional sequence flows leaving a gateway, in the order the engine tries them (an
    exclusive gateway takes the first whose condition holds, else its default flow)."""
    spec = _task_spec(pv, gateway_id)
    out = []
    for cond, target_name in getattr(spec, "cond_task_specs", None) or []:
        if cond is None:
            continue
        target = getattr(_task_spec(pv, target_name), "bpmn_id", target_name)
        out += [
            fid
            for fid, el in pv.elements.items()
            if el.get("type") == "sequenceFlow" and el.get("source") == gateway_id and el.get("target") == target
        ]
    return out


def _task_spec(pv: ProcessVersion, name: str):
    for spec in (pv.spec, *(pv.subprocess_specs or {}).values()):
        found = spec.task_specs.get(name)
        if found is not None:
            return found
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) == name:
                return ts
    return None
