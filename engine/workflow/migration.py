"""Moving a running case to another version of its process, with SpiffWorkflow's own spec diff and
workflow migration (``SpiffWorkflow.bpmn.util.diff``). Pure: the caller stores the result.

SpiffWorkflow aligns the old version's task specs with the new one's by BPMN id (then by
structure). A case can move when every task it has — done, running or waiting — still has its
activity in the new version and no running activity changed its kind; anything else is refused
with the activity and the reason. Ready tasks are reset onto the new version's structure (same
task ids: a user task keeps its row and claim), then the engine runs as after any command, so a
task added after the current one is simply reached later. Waiting timers are not reset: a legal
deadline already running keeps its due time. The new state must load back under the new version
(checked here, so a dry run and the real move agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine.workflow.runtime import Engine, EngineError, ProcessVersion, StepResult, _collect
from engine.workflow.serializer import spec_registry

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Verdict:
    can_move: bool
    reasons: list[dict] = field(default_factory=list)  # {activity_id, activity_name, reason_zh, reason_en}
    changed: list[str] = field(default_factory=list)  # aligned activities whose definition changed
    result: StepResult | None = None


def _reason(pv: ProcessVersion, aid, zh: str, en: str) -> dict:
    return {"activity_id": aid, "activity_name": pv.element_name(aid), "reason_zh": zh, "reason_en": en}


def migrate(engine: Engine, old: ProcessVersion, new: ProcessVersion, state: str) -> Verdict:
    """Can the case in ``state`` (on ``old``) move to ``new``; if so, its new state and step."""
    with clockmod.use(engine.clock), _collect() as provisional:
        wf = engine.load(old, state)
        registry = spec_registry()
        top, subs = diff_workflow(registry, wf, new.spec, new.subprocess_specs)
        reasons = []
        seen = set()
        for diff in (top, *[d for d in subs.values() if d is not None]):
            for task in diff.removed:
                aid = getattr(task.task_spec, "bpmn_id", None)
                if aid is None or (aid, task.state & LIVE != 0) in seen:
                    continue
                seen.add((aid, task.state & LIVE != 0))
                if task.state & LIVE:
                    reasons.append(
                        _reason(
                            old,
                            aid,
                            f"当前活动“{old.element_name(aid)}”在新版本中已删除",
                            f"the current activity '{aid}' is not in the new version",
                        )
                    )
                elif task.state & TaskState.FINISHED_MASK:
                    reasons.append(
                        _reason(
                            old,
                            aid,
                            f"已办理的活动“{old.element_name(aid)}”在新版本中已删除，案件历史无法对应",
                            f"the completed activity '{aid}' is not in the new version",
                        )
                    )
            for task in diff.changed:
                aid = getattr(task.task_spec, "bpmn_id", None)
                if task.state & LIVE and "typename" in diff_changes(top, subs, task):
                    reasons.append(
                        _reason(
                            old,
                            aid,
                            f"当前活动“{old.element_name(aid)}”在新版本中类型已改变",
                            f"the current activity '{aid}' changed its kind in the new version",
                        )
                    )
        for sp_id, d in subs.items():
            if d is None:
                sp = wf.subprocesses[sp_id]
                reasons.append(
                    _reason(
                        old,
                        sp.spec.name,
                        f"子流程“{sp.spec.name}”在新版本中已删除",
                        f"the running sub-process '{sp.spec.name}' is not in the new version",
                    )
                )
        changed = sorted(
            {
                t.task_spec.bpmn_id
                for d in (top, *[d for d in subs.values() if d])
                for t in d.changed
                if getattr(t.task_spec, "bpmn_id", None)
            }
        )
        if reasons:
            return Verdict(False, reasons, changed)
        before_tasks, before_timers = engine._user_task_ids(wf), engine._timer_ids(wf)
        try:
            migrate_workflow(top, wf, new.spec, reset_mask=TaskState.READY)
            for sp_id, d in subs.items():
                sp = wf.subprocesses[sp_id]
                migrate_workflow(d, sp, new.subprocess_specs[sp.spec.name], reset_mask=TaskState.READY)
            wf.subprocess_specs = new.subprocess_specs
            result = engine._advance(new, wf, before_tasks, before_timers, [], provisional)
            engine.load(new, result.state)  # it must load back under the new version
        except EngineError as e:
            return Verdict(
                False,
                [
                    _reason(
                        new,
                        e.activity_id,
                        f"迁移后流程步骤失败：{e.message}",
                        f"the engine step after the move failed: {e.message}",
                    )
                ],
                changed,
            )
        except Exception as e:  # SpiffWorkflow could not map the tree onto the new version
            return Verdict(
                False,
                [
                    _reason(
                        old,
                        None,
                        f"引擎无法迁移该案件：{type(e).__name__}: {e}",
                        f"the engine cannot move this case: {type(e).__name__}: {e}",
                    )
                ],
                changed,
            )
    return Verdict(True, [], changed, result)


def diff_changes(top, subs, task) -> list[str]:
    # WorkflowDiff keeps only the tasks; the attribute names that changed live in the SpecDiff's
    # comparisons, which WorkflowDiff does not keep: compare the two specs' serialized forms again.
    new_spec = top.alignment.get(task)
    for d in subs.values():
        if new_spec is None and d is not None:
            new_spec = d.alignment.get(task)
    if new_spec is None:
        return []
    reg = spec_registry()
    a, b = reg.convert(task.task_spec), reg.convert(new_spec)
    return ["typename"] if a.get("typename") != b.get("typename") else [k for k, v in a.items() if b.get(k) != v]
