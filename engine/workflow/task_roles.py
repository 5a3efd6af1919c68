"""A user task whose department is taken from the case's data.

``camunda:candidateGroups="${handling_unit}"`` (Camunda's own expression syntax) gives the task to
the department role named by the case variable ``handling_unit`` when the task becomes ready:
呼叫即回应's handling unit is chosen at registration or triage, 开户即开业's competent department
comes from the permit catalogue. A fixed code (``candidateGroups="fire_rescue"``) or the lane
decides every other task (engine/deploy.py).

The value is checked against the role registry (engine/roles.py) at the moment the task is
created, so the command whose data set it — a start form, a registration or triage task — is
refused as a whole, naming the variable, and nothing of it is written.
"""

from __future__ import annotations

import re

from engine import roles

_EXPR = re.compile(r"^\$\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}$")


def is_expression(candidate_groups: str) -> bool:
    """Whether the attribute is meant as an expression (then it must parse as ``${variable}``)."""
    return "${" in candidate_groups or "#{" in candidate_groups


def variable(candidate_groups: str) -> str | None:
    """The variable of ``${variable}``, or None when the expression is anything else."""
    m = _EXPR.match(candidate_groups.strip())
    return m.group(1) if m else None


def assignable(code: object) -> bool:
    """A role a task may be given from data: a department of the registry (not a system role, not
    the applicant or the commissioner, whose tasks are reserved for a person)."""
    role = roles.BY_CODE.get(code) if isinstance(code, str) else None
    return role is not None and role.department and role.code not in roles.SYSTEM_ROLES


def resolve(info: dict, data: dict) -> str | None:
    """The role of a ready user task: its fixed role, or the department its variable names (None
    when the variable names no department: the caller refuses the command)."""
    var = info.get("role_var")
    if not var:
        return info.get("role", "")
    value = data.get(var)
    return value if assignable(value) else None
