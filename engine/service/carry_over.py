"""Data carried between flows: a new case takes fields from a completed case of another flow
(a project ready to build → its completion acceptance; an opened enterprise → its calls), as the
target flow's settings ``carry_over`` say:

    "carry_over": {"from_process": "land_to_construction", "outcomes": ["End_ReadyToBuild"],
                   "match_field": "project_code", "fields": ["project_name", "project_code", ...]}

The source is named by its id, its business key, or the value of its ``match_field`` (a key the
source flow lists in ``lookup_fields``, kept in the indexed ``case_lookup`` table when a step
writes it). It must be completed at one of ``outcomes`` and visible to the caller (a department
with a task in the target flow may also read the carried fields, and only those)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.service.errors import Invalid
from engine.service.visibility import can_see_instance
from engine.store.models import CaseLookup, Instance, ProcessVersionRow
from engine.workflow import flow_settings

_INSERT_LOOKUP = insert(CaseLookup.__table__)


def record_lookups(s: Session, inst: Instance, settings: dict | None, data: dict) -> None:
    """Keep the lookup keys ``data`` carries for ``inst`` (the latest value wins)."""
    values = flow_settings.lookup_values(settings, data)
    if not values:
        return
    s.execute(delete(CaseLookup).where(CaseLookup.instance_id == inst.id, CaseLookup.name.in_(list(values))))
    s.connection().execute(
        _INSERT_LOOKUP,
        [dict(instance_id=inst.id, name=k, process_key=inst.process_key, value=v) for k, v in values.items()],
    )


def _refuse(field: str, zh: str, en: str):
    raise Invalid(zh, en, {field: [f"{zh} / {en}"]})


def find_source(
    s: Session,
    settings: dict | None,
    from_instance: int | None = None,
    from_business_key: str | None = None,
    match: str | None = None,
    match_param: str = "match",
) -> tuple[Instance, str]:
    """The source case named, and the request field that named it (for errors; ``match_param``:
    what the request calls ``match``). Not yet checked for visibility or outcome."""
    carry = (settings or {}).get("carry_over")
    field = "from_instance" if from_instance is not None else "from_business_key" if from_business_key else match_param
    if not isinstance(carry, dict):
        _refuse(field, "该流程不接受其他流程带入的数据", "this flow takes no data from another flow")
    q = select(Instance).where(Instance.process_key == carry["from_process"])
    if from_instance is not None:
        q = q.where(Instance.id == from_instance)
    elif from_business_key:
        q = q.where(Instance.business_key == from_business_key)
    elif match and carry.get("match_field"):
        q = q.where(
            Instance.id.in_(
                select(CaseLookup.instance_id).where(
                    CaseLookup.name == carry["match_field"],
                    CaseLookup.value == match.strip(),
                    CaseLookup.process_key == carry["from_process"],
                )
            )
        )
    else:
        _refuse(field, "须指明来源案件", "name the source case")
    # newest first: a business key or a USCC may have been used by an earlier, abandoned case
    rows = s.scalars(q.order_by(Instance.id.desc()).limit(20)).all()
    done = [r for r in rows if r.status == "completed" and r.outcome_id in carry["outcomes"]]
    inst = (done or rows or [None])[0]
    if inst is None:
        _refuse(field, f"没有该来源案件（{carry['from_process']}）", f"no such {carry['from_process']} case")
    return inst, field


def take(
    service, s: Session, actor, settings: dict | None, target_roles: set[str] | frozenset = frozenset(), **named
) -> tuple[Instance, dict]:
    """(source case, carried fields) for a new case of a flow with ``settings``; Invalid (422)
    naming the request field when the source is missing, not visible, not completed or ended
    elsewhere."""
    inst, field = find_source(s, settings, **named)
    carry = settings["carry_over"]
    if not (can_see_instance(s, actor, inst) or (actor.roles & set(target_roles))):
        _refuse(field, "没有该来源案件", f"no such {carry['from_process']} case")
    if inst.status != "completed" or inst.outcome_id not in carry["outcomes"]:
        _refuse(
            field,
            f"来源案件 {inst.id} 尚未以规定结果办结（{', '.join(carry['outcomes'])}）",
            f"source case {inst.id} has not ended at {', '.join(carry['outcomes'])}",
        )
    pv = service.version(s, inst.version_id)
    data = service.engine.snapshot(pv, inst.state).data
    return inst, {k: data[src] for k, src in flow_settings.carried_fields(settings).items() if src in data}


def target_roles(s: Session, process_key: str) -> set[str]:
    """The roles with a task in the latest version of ``process_key``."""
    tasks = (
        s.scalar(
            select(ProcessVersionRow.tasks)
            .where(ProcessVersionRow.key == process_key)
            .order_by(ProcessVersionRow.version.desc())
            .limit(1)
        )
        or {}
    )
    return {t.get("role") for t in tasks.values() if isinstance(t, dict)} - {"applicant"}
