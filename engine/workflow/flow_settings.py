"""What a flow's ``<process>.settings.json`` configures beyond the case defaults, and its checks
at deploy time.

Every key of a settings file not starting with ``_`` is merged into each new case's data (the
periods the diagram's expressions read with ``setting()``), except the keys below, which
configure the service around the diagram and stay out of the case data:

* ``task_deadlines``: activity id → working days (a positive integer) or the id of a timer
  boundary event attached to that task (the diagram's own timer is then its due time);
* ``default_task_workdays``: working days for every other task of a department or commissioner
  (not the applicant's own tasks);
* ``deadline_reminder_workdays``: how many working days before the due time the deadline watch
  reminds (0: no reminder);
* ``display_name_field``: the case data key (or list of keys, first non-empty wins) that names
  the enterprise or project in the inbox;
* ``lookup_fields``: case data keys another flow may find this flow's cases by (USCC, project
  code);
* ``carry_over``: which completed case of another flow a new case of this flow takes data from
  (``fields``: a list of keys, or this flow's key → the source flow's key).
"""

from __future__ import annotations

from typing import Any

SERVICE_KEYS = frozenset(
    {
        "task_deadlines",
        "default_task_workdays",
        "deadline_reminder_workdays",
        "display_name_field",
        "lookup_fields",
        "carry_over",
    }
)
DEFAULT_REMINDER_WORKDAYS = 1
MAX_WORKDAYS = 366


def case_defaults(settings: dict | None) -> dict:
    """The settings merged into a new case's data."""
    return {k: v for k, v in (settings or {}).items() if not k.startswith("_") and k not in SERVICE_KEYS}


def task_deadline(settings: dict | None, activity_id: str, role: str) -> int | str | None:
    """Working days, a boundary timer's id, or None: what the settings give a new task."""
    settings = settings or {}
    rule = (settings.get("task_deadlines") or {}).get(activity_id)
    if rule is not None:
        return rule
    if role == "applicant":
        return None
    return settings.get("default_task_workdays")


def carried_fields(settings: dict | None) -> dict[str, str]:
    """This flow's key → the source flow's key, of every field ``carry_over`` takes."""
    carry = (settings or {}).get("carry_over")
    fields = carry.get("fields") if isinstance(carry, dict) else None
    if isinstance(fields, list):
        return {f: f for f in fields if isinstance(f, str)}
    if isinstance(fields, dict):
        return {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str)}
    return {}


def reminder_workdays(settings: dict | None) -> int:
    value = (settings or {}).get("deadline_reminder_workdays")
    return DEFAULT_REMINDER_WORKDAYS if value is None else value


def display_name(settings: dict | None, data: dict) -> str | None:
    field = (settings or {}).get("display_name_field")
    for key in [field] if isinstance(field, str) else field or []:
        value = data.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:200]
    return None


def display_fields(settings: dict | None) -> list[str]:
    field = (settings or {}).get("display_name_field")
    return [field] if isinstance(field, str) else list(field or [])


def lookup_values(settings: dict | None, data: dict) -> dict[str, str]:
    """The lookup keys ``data`` carries, as strings."""
    out = {}
    for key in (settings or {}).get("lookup_fields") or []:
        value = data.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            out[key] = str(value).strip()[:200]
    return out


def _positive_int(value: Any, maximum: int = MAX_WORKDAYS, allow_zero: bool = False) -> bool:
    low = 0 if allow_zero else 1
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= maximum


def problems(settings: dict, tasks: dict, elements: dict, produced: set[str]) -> list[tuple[str, str]]:
    """(settings key, message) for every wrong service key. ``tasks``: the process's user tasks
    by activity id; ``elements``: its flow elements; ``produced``: every case data key a form,
    the settings or the service writes."""
    out: list[tuple[str, str]] = []
    deadlines = settings.get("task_deadlines")
    if deadlines is not None and not isinstance(deadlines, dict):
        out.append(("task_deadlines", "须为对象：活动 id → 工作日数 / must be an object: activity id → working days"))
        deadlines = {}
    for aid, rule in (deadlines or {}).items():
        key = f"task_deadlines.{aid}"
        if aid not in tasks:
            out.append((key, f"流程中没有用户任务 “{aid}” / no user task '{aid}' in the process"))
        elif isinstance(rule, str):
            el = elements.get(rule) or {}
            if el.get("type") != "boundaryEvent" or el.get("attached_to") != aid:
                out.append(
                    (
                        key,
                        f"“{rule}” 不是附在该任务上的边界定时事件 / '{rule}' is not a boundary "
                        f"timer event attached to '{aid}'",
                    )
                )
        elif not _positive_int(rule):
            out.append(
                (key, f"须为 1–{MAX_WORKDAYS} 的整数工作日 / must be a whole number of working days, 1-{MAX_WORKDAYS}")
            )
    for key in ("default_task_workdays",):
        if key in settings and not _positive_int(settings[key]):
            out.append(
                (key, f"须为 1–{MAX_WORKDAYS} 的整数工作日 / must be a whole number of working days, 1-{MAX_WORKDAYS}")
            )
    if "deadline_reminder_workdays" in settings and not _positive_int(
        settings["deadline_reminder_workdays"], allow_zero=True
    ):
        out.append(
            ("deadline_reminder_workdays", "须为 0 或正整数工作日 / must be 0 or a whole number of working days")
        )
    if "display_name_field" in settings:
        fields = settings["display_name_field"]
        if not (
            isinstance(fields, str) or (isinstance(fields, list) and fields and all(isinstance(f, str) for f in fields))
        ):
            out.append(("display_name_field", "须为字段名或字段名列表 / must be a key or a list of keys"))
        else:
            for f in display_fields(settings):
                if f not in produced:
                    out.append(("display_name_field", f"没有表单填写 “{f}” / no form fills '{f}'"))
    lookups = settings.get("lookup_fields")
    if lookups is not None:
        if not (isinstance(lookups, list) and all(isinstance(f, str) and 0 < len(f) <= 60 for f in lookups)):
            out.append(("lookup_fields", "须为字段名列表 / must be a list of keys"))
        else:
            out += [
                ("lookup_fields", f"没有表单填写 “{f}” / no form fills '{f}'") for f in lookups if f not in produced
            ]
    carry = settings.get("carry_over")
    if carry is not None:
        out += _carry_over_problems(carry)
    return out


def _carry_over_problems(carry: Any) -> list[tuple[str, str]]:
    if not isinstance(carry, dict):
        return [("carry_over", "须为对象 / must be an object")]
    out = []
    if not isinstance(carry.get("from_process"), str) or not carry["from_process"]:
        out.append(("carry_over.from_process", "必填：来源流程 / required: the source process key"))
    outcomes = carry.get("outcomes")
    if not (isinstance(outcomes, list) and outcomes and all(isinstance(o, str) for o in outcomes)):
        out.append(
            (
                "carry_over.outcomes",
                "必填：来源案件须到达的结束事件 id 列表 / required: the end "
                "event ids the source case must have reached",
            )
        )
    fields = carry.get("fields")
    if isinstance(fields, dict):
        fields = [f for pair in fields.items() for f in pair]
    if not (isinstance(fields, list) and fields and all(isinstance(f, str) and f for f in fields)):
        out.append(
            (
                "carry_over.fields",
                "必填：带入的字段列表，或 本流程字段 → 来源字段 / required: the keys "
                "carried over, or this flow's key → the source's key",
            )
        )
    match = carry.get("match_field")
    if match is not None and not isinstance(match, str):
        out.append(("carry_over.match_field", "须为字段名 / must be a key"))
    return out


SYSTEM_KEYS = frozenset({"initiator", "enterprise_user", "carried_from"})


def form_keys(form: dict | None, readonly: bool | None = None) -> set[str]:
    """Top-level data keys a form's fields bind to (all, only the read-only or only the editable)."""
    from engine.forms.compile import compile_form

    if not form:
        return set()
    return {f.path.split(".")[0] for f in compile_form(form).fields if readonly is None or f.readonly == readonly}


def produced_keys(
    start_form: dict | None, task_forms: dict[str, dict], settings: dict, scripts: list[str], dmn_outputs: set[str]
) -> set[str]:
    """Every case data key something writes: the start form, a task's editable fields, the
    settings' case defaults, the carried-over fields, a script's assignments, a decision table's
    outputs, the service itself."""
    import ast

    keys = set(SYSTEM_KEYS) | form_keys(start_form) | set(case_defaults(settings)) | dmn_outputs
    keys |= set(carried_fields(settings))
    for form in task_forms.values():
        keys |= form_keys(form, readonly=False)
    for text in scripts:
        try:
            tree = ast.parse(text or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            keys |= {t.id for t in targets if isinstance(t, ast.Name)}
    return keys


def readonly_problems(task_forms: dict[str, dict], produced: set[str]) -> list[tuple[str, str, str]]:
    """(activity id, key, message) for every read-only field no step of the process fills: it
    would show an empty box."""
    out = []
    for aid, form in task_forms.items():
        for key in sorted(form_keys(form, readonly=True) - produced):
            out.append(
                (
                    aid,
                    key,
                    f"只读字段 “{key}” 没有任何步骤填写（开始表单、其他任务表单、设置、脚本、决策表）"
                    f" / read-only field '{key}' is filled by no step (start form, another task's "
                    f"form, settings, script, decision table)",
                )
            )
    return out
